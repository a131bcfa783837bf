import fc from 'fast-check'
import { redactQueryCredential } from '../../plugin/query-credential.ts'
import { FIXED_NOW, type Family } from '../family.ts'
import { fail } from '../invariants.ts'
import { makeToken } from '../tokens.ts'

interface Input {
  readonly before: readonly string[]
  readonly name: string
  /** Percent-encoding rounds, and which characters each round encodes (by position parity). */
  readonly rounds: number
  readonly encodeEvery: number
  readonly wrap: readonly [string, string]
  readonly after: readonly string[]
  readonly separator: '&' | ';'
}

const TOKEN = makeToken({ header: { alg: 'HS256', typ: 'JWT' }, claims: { sub: 'alice', exp: 'rel:60' }, signing: 'key', edits: [] }, FIXED_NOW)
const FIRST_SEGMENT = TOKEN.slice(0, TOKEN.indexOf('.'))

function percentEncode (text: string, every: number): string {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string
    out += i % every === 0 ? `%${char.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}` : char
  }
  return out
}

/** Everything a server would see of the URL, decoded as often as it still changes. */
function decodedForms (url: string): string[] {
  const forms = [url]
  let text = url
  for (let i = 0; i < 6; i++) {
    let next: string
    try { next = decodeURIComponent(text.replace(/\+/g, ' ')) } catch { break }
    if (next === text) break
    forms.push(text = next)
  }
  return forms
}

/** A token in the URL query, in any encoding depth and place, is found, and gone from the redacted URL. */
export function queryFamily (): Family<Input> {
  const parameter = fc.stringMatching(/^[a-z_]{1,6}=[a-z0-9]{0,6}$/)
  return {
    name: 'query',
    description: 'a valid token placed in the URL query (any parameter name, percent-encoded up to 6 times, amid other parameters) through the plugin\'s query-credential redaction',
    kind: 'in-process',
    weight: 10,
    concurrency: 1,
    arbitrary: () => fc.record({
      before: fc.array(parameter, { maxLength: 3 }),
      name: fc.constantFrom('token', 'x', 'access_token', 'q', 'auth[jwt]', 'Authorization', ''),
      rounds: fc.nat({ max: 6 }),
      encodeEvery: fc.integer({ min: 1, max: 9 }),
      wrap: fc.tuple(fc.constantFrom('', 'Bearer ', 'x', '"'), fc.constantFrom('', '"', 'y')),
      after: fc.array(parameter, { maxLength: 3 }),
      separator: fc.constantFrom<'&' | ';'>('&', ';')
    }),
    run (input) {
      let value = `${input.wrap[0]}${TOKEN}${input.wrap[1]}`
      for (let round = 0; round < input.rounds; round++) value = percentEncode(value, input.encodeEvery)
      const parameterText = input.name === '' ? value : `${input.name}=${value}`
      const url = `/ws?${[...input.before, parameterText, ...input.after].join(input.separator)}`
      const redacted = redactQueryCredential(url)
      if (redacted === undefined) fail('only-valid-tokens', `a token in the query is not refused: ${url}`)
      for (const form of decodedForms(redacted)) {
        if (form.includes(FIRST_SEGMENT)) fail('only-valid-tokens', `the redacted URL still holds the token: ${redacted}`)
      }
    }
  }
}
