// Builds the language-neutral test vectors of conformance/vectors/*.json. Every expected
// outcome is computed by this repository's own code (protocol/ and the plugin's parsers),
// never typed in, so the files follow the code; test/conformance/vectors.test.ts fails
// when the committed files differ from what this produces.
//
//   node --import tsx conformance/vectors/generate.ts   (rewrites the files)
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  BEARER_SUBPROTOCOL_PREFIX, CLOSE_CODES, CloseCode, ERRORS, ERROR_CODES, FRAMES, MAX_REQUEST_ID_LENGTH, MAX_TOKEN_LENGTH, SUBPROTOCOL,
  closePolicy, isAuthFrame, isRenewFrame, isServerFrame, parseJson, reservedTypeOf, type FrameDefinition
} from '../../protocol/index.ts'
import { checkClaims } from '../../plugin/claims.ts'
import { isErrorDefinition, tokenFromSubprotocols } from '../../plugin/credential.ts'
import { resolveOptions } from '../../plugin/options.ts'
import { redactQueryCredential } from '../../plugin/query-credential.ts'

/** The reference server's defaults, as the plugin resolves them (so the vectors follow a changed default). */
const DEFAULTS = resolveOptions({ verify: { algorithms: ['HS256'], key: 'conformance-vectors-key-of-at-least-32-bytes' } })

// A fixed, well-formed token: vectors are data, so nothing in them may vary between runs.
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
const TOKEN = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'alice', sid: 's-42', exp: 1764046000 })}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk`
const T0 = 1764045700000

interface FrameVector {
  name: string
  direction: FrameDefinition['direction']
  text: string
  /** What a conforming receiver does with it. */
  expected: { outcome: 'frame', type: string } | { outcome: 'invalid', code?: string, note: string } | { outcome: 'application', note: string }
}

const validExamples: Record<string, Record<string, unknown>> = {
  auth: { type: 'auth', token: TOKEN },
  authenticated: { type: 'authenticated', connectionId: 'c1', subject: 'alice', sessionId: 's-42', expiresAt: T0 + 300_000, expiresIn: 300_000 },
  renew_required: { type: 'renew_required', expiresAt: T0 + 300_000, expiresIn: 30_000 },
  renew: { type: 'renew', token: TOKEN, id: 'r1' },
  renewed: { type: 'renewed', id: 'r1', expiresAt: T0 + 600_000, expiresIn: 299_000 },
  auth_error: { type: 'auth_error', code: 'subject_mismatch', message: ERRORS.subject_mismatch.message, closing: false, retry: false, id: 'r2' }
}

/** How the receiver of `direction` classifies `text`, by protocol/'s own validators. */
function classify (direction: FrameDefinition['direction'], text: string): FrameVector['expected'] {
  const value = parseJson(text)
  const type = reservedTypeOf(value)
  // Servers recognise client frames by the literal bytes `"auth` / `"renew` (SPEC §4): an escaped type is application data.
  if (type === undefined || (direction === 'client-to-server' && !/"(auth|renew)/.test(text))) {
    return { outcome: 'application', note: 'not a protocol frame: delivered to the application untouched' }
  }
  if (direction === 'client-to-server') {
    if ((type === 'auth' && isAuthFrame(value)) || (type === 'renew' && isRenewFrame(value))) return { outcome: 'frame', type }
    return { outcome: 'invalid', code: 'frame_invalid', note: 'refused with auth_error frame_invalid (a renewal refused; before authentication, close 4400)' }
  }
  if (isServerFrame(value) && (value as { type: string }).type === type) return { outcome: 'frame', type }
  return { outcome: 'invalid', note: 'a reserved type that fails its schema: not an application message; the reference client drops it' }
}

function wrongTypeOf (value: unknown): unknown {
  if (typeof value === 'string') return 42
  if (typeof value === 'boolean') return 'true'
  return String(value)
}

function frameVectors (): FrameVector[] {
  const vectors: FrameVector[] = []
  const add = (name: string, direction: FrameDefinition['direction'], text: string): void => {
    vectors.push({ name, direction, text, expected: classify(direction, text) })
  }
  for (const { type, direction, schema } of FRAMES) {
    const example = validExamples[type] as Record<string, unknown>
    add(`${type}: the SPEC's example`, direction, JSON.stringify(example))
    add(`${type}: an unknown member is ignored`, direction, JSON.stringify({ ...example, futureField: 1 }))
    const required = new Set<string>((schema as { required?: string[] }).required ?? [])
    for (const field of Object.keys(example)) {
      if (field === 'type') continue
      if (required.has(field)) {
        const { [field]: _omitted, ...rest } = example
        add(`${type}: without required ${field}`, direction, JSON.stringify(rest))
      } else {
        const { [field]: _omitted, ...rest } = example
        add(`${type}: without optional ${field}`, direction, JSON.stringify(rest))
      }
      add(`${type}: ${field} of the wrong type`, direction, JSON.stringify({ ...example, [field]: wrongTypeOf(example[field]) }))
    }
  }
  const long = (n: number): string => 'a'.repeat(n)
  add(`renew: token of ${MAX_TOKEN_LENGTH} characters (the protocol's limit)`, 'client-to-server', JSON.stringify({ type: 'renew', token: long(MAX_TOKEN_LENGTH) }))
  add(`renew: token of ${MAX_TOKEN_LENGTH + 1} characters`, 'client-to-server', JSON.stringify({ type: 'renew', token: long(MAX_TOKEN_LENGTH + 1) }))
  add('renew: empty token', 'client-to-server', '{"type":"renew","token":""}')
  add(`renew: id of ${MAX_REQUEST_ID_LENGTH} characters`, 'client-to-server', JSON.stringify({ type: 'renew', token: TOKEN, id: long(MAX_REQUEST_ID_LENGTH) }))
  add(`renew: id of ${MAX_REQUEST_ID_LENGTH + 1} characters`, 'client-to-server', JSON.stringify({ type: 'renew', token: TOKEN, id: long(MAX_REQUEST_ID_LENGTH + 1) }))
  add('renew: empty id', 'client-to-server', JSON.stringify({ type: 'renew', token: TOKEN, id: '' }))
  add('renew: type written with a JSON escape', 'client-to-server', `{"type":"\\u0072enew","token":"${TOKEN}"}`)
  add('renew: type in another letter case', 'client-to-server', JSON.stringify({ type: 'Renew', token: TOKEN }))
  add('renew: not an object (an array)', 'client-to-server', JSON.stringify([{ type: 'renew', token: TOKEN }]))
  add('renew: invalid JSON', 'client-to-server', `{"type":"renew","token":"${TOKEN}"`)
  add('an application message with an unknown type', 'client-to-server', '{"type":"chat","text":"hello"}')
  add('an application message mentioning renew in a value', 'client-to-server', '{"type":"chat","text":"\\"renew soon"}')
  add('renewed: expiresIn negative', 'server-to-client', JSON.stringify({ ...validExamples.renewed, expiresIn: -1 }))
  add('renewed: expiresIn fractional', 'server-to-client', JSON.stringify({ ...validExamples.renewed, expiresIn: 1.5 }))
  add('renewed: expiresIn 0', 'server-to-client', JSON.stringify({ ...validExamples.renewed, expiresIn: 0 }))
  add('auth_error: an unknown error code', 'server-to-client', JSON.stringify({ ...validExamples.auth_error, code: 'no_such_code' }))
  add('auth_error: closing true', 'server-to-client', JSON.stringify({ type: 'auth_error', code: 'credential_expired', message: ERRORS.credential_expired.message, closing: true, retry: true }))
  add('authenticated: empty subject', 'server-to-client', JSON.stringify({ ...validExamples.authenticated, subject: '' }))
  add('an application message with an unknown type', 'server-to-client', '{"type":"price","value":3}')
  add('an application message that is not JSON', 'server-to-client', 'hello')
  return vectors
}

interface SubprotocolVector {
  name: string
  header: string
  expected: { token: string } | { error: string, status: number } | { credential: 'none' }
}

function subprotocolVectors (): SubprotocolVector[] {
  const max = DEFAULTS.maxTokenLength
  const bearer = `${BEARER_SUBPROTOCOL_PREFIX}${TOKEN}`
  const inputs: Array<[string, string]> = [
    ['the usual offer', `${SUBPROTOCOL}, ${bearer}`],
    ['bearer entry first', `${bearer}, ${SUBPROTOCOL}`],
    ['no whitespace', `${SUBPROTOCOL},${bearer}`],
    ['tabs and extra spaces around entries', `\t${SUBPROTOCOL} ,\t ${bearer}  `],
    ['an application subprotocol as well', `chat.v2, ${SUBPROTOCOL}, ${bearer}`],
    ['only the version: no credential here', SUBPROTOCOL],
    ['other subprotocols only: no credential here', 'chat.v2, graphql-ws'],
    ['bearer entry without the version', bearer],
    ['version in another letter case', `WSAUTH.V1, ${bearer}`],
    ['version offered twice', `${SUBPROTOCOL}, ${SUBPROTOCOL}, ${bearer}`],
    ['an entry repeated', `chat.v2, ${SUBPROTOCOL}, chat.v2, ${bearer}`],
    ['two bearer entries', `${SUBPROTOCOL}, ${bearer}, ${bearer}x`],
    ['two equal bearer entries', `${SUBPROTOCOL}, ${bearer}, ${bearer}`],
    ['empty token', `${SUBPROTOCOL}, ${BEARER_SUBPROTOCOL_PREFIX}`],
    ['an empty entry', `${SUBPROTOCOL}, , ${bearer}`],
    ['a trailing comma', `${SUBPROTOCOL}, ${bearer},`],
    ['a character outside the token set (space inside the token)', `${SUBPROTOCOL}, ${BEARER_SUBPROTOCOL_PREFIX}abc def`],
    ['a character outside the token set (slash)', `${SUBPROTOCOL}, ${BEARER_SUBPROTOCOL_PREFIX}abc/def`],
    ['a non-ASCII character', `${SUBPROTOCOL}, ${BEARER_SUBPROTOCOL_PREFIX}abc\u00e9`],
    ['bearer prefix in another letter case: refused, never selected (SPEC 2.1)', `${SUBPROTOCOL}, WSAUTH.BEARER.${TOKEN}`],
    [`a token of ${max} characters (the default limit)`, `${SUBPROTOCOL}, ${BEARER_SUBPROTOCOL_PREFIX}${'a'.repeat(max)}`],
    [`a token of ${max + 1} characters`, `${SUBPROTOCOL}, ${BEARER_SUBPROTOCOL_PREFIX}${'a'.repeat(max + 1)}`],
    ['a one-character token', `${SUBPROTOCOL}, ${BEARER_SUBPROTOCOL_PREFIX}a`]
  ]
  return inputs.map(([name, header]) => {
    const result = tokenFromSubprotocols(header, max)
    const expected = result === undefined
      ? { credential: 'none' as const }
      : isErrorDefinition(result) ? { error: result.code, status: result.status } : { token: result }
    return { name, header, expected }
  })
}

interface QueryVector {
  name: string
  url: string
  expected: { credential: boolean, error?: string, status?: number }
}

function queryVectors (): QueryVector[] {
  const names = ['token', 'access_token', 'accesstoken', 'id_token', 'jwt', 'auth', 'authorization', 'bearer', 'credential']
  const inputs: Array<[string, string]> = []
  for (const name of names) {
    inputs.push([`parameter ${name}`, `/feed?${name}=x`])
    inputs.push([`parameter ${name.toUpperCase()}`, `/feed?${name.toUpperCase()}=x`])
  }
  inputs.push(
    ['parameter token without a value', '/feed?token'],
    ['a JWT as the value of a harmless name', `/feed?room=lobby&x=${TOKEN}`],
    ['a JWT with its dots percent-encoded', `/feed?x=${TOKEN.replaceAll('.', '%2E')}`],
    ['a JWT after a malformed escape', `/feed?x=%zz${TOKEN}`],
    ['a JWT as a parameter name', `/feed?${TOKEN}`],
    ['a JWT-shaped value with + for spaces', `/feed?x=a+${TOKEN}`],
    ['no query', '/feed'],
    ['an empty query', '/feed?'],
    ['harmless parameters', '/feed?room=lobby&since=2026-01-01'],
    ['a name that contains token', '/feed?tokens=3&page_token_count=1'],
    ['a value eyJ without two dots', '/feed?x=eyJhbGciOiJIUzI1NiJ9'],
    ['a value with dots that is not a JWT', '/feed?v=1.2.3'],
    ['a short eyJ value with two dots', '/feed?x=eyJ.a.b']
  )
  return inputs.map(([name, url]) => {
    const credential = redactQueryCredential(url) !== undefined
    return { name, url, expected: credential ? { credential, error: 'credential_in_query', status: ERRORS.credential_in_query.status } : { credential } }
  })
}

function closeCodeVectors (): Array<{ code: number, name: string | null, policy: string, errors: string[] }> {
  const standard = [1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 1015]
  const others = [3000, 4000, 4001, 4999, 4404, 4600]
  const codes = [...standard, ...CLOSE_CODES, ...others]
  return codes.map((code) => ({
    code,
    name: (CloseCode as unknown as Record<number, string>)[code] ?? null,
    policy: closePolicy(code),
    errors: ERROR_CODES.filter((error) => ERRORS[error].closeCode === code)
  }))
}

function errorVectors (): Array<{ code: string, status: number, closeCode: number, retry: boolean, policy: string }> {
  return ERROR_CODES.map((code) => {
    const { status, closeCode, retry } = ERRORS[code]
    return { code, status, closeCode, retry, policy: closePolicy(closeCode) }
  })
}

/** SPEC §6 as worked examples: every expected value from the plugin's claim check or from the rule's formula. */
function timingVectors (): Record<string, unknown> {
  const rules = (toleranceMs: number) => ({ issuers: undefined, audiences: undefined, clockToleranceMs: toleranceMs })
  const deadlineCases: Array<[string, number, number, number]> = [
    ['exp one second ahead', 1764045701, 0, T0],
    ['exp equal to now is expired', 1764045700, 0, T0],
    ['exp one ms ahead of now (fractional)', 1764045700.001, 0, T0],
    ['fractional exp is rounded down to whole ms', 1764045700.0019, 0, T0],
    ['exp one second past, tolerance 2 s', 1764045699, 2000, T0],
    ['exp two seconds past, tolerance 2 s (equal: expired)', 1764045698, 2000, T0]
  ]
  const deadlines = deadlineCases.map(([name, exp, clockToleranceMs, now]) => {
    const result = checkClaims({ sub: 'alice', exp }, rules(clockToleranceMs), now)
    return {
      name,
      exp,
      clockToleranceMs,
      now,
      expected: typeof result === 'number' ? { accepted: true, deadline: result, expiresIn: result - now } : { accepted: false, error: result.code }
    }
  })
  // Rule 2: renew_required at deadline − renewBefore, or at once when less is left.
  const renewBefore = DEFAULTS.renewBeforeMs
  const renewRequired = [300_000, renewBefore, 20_000, 1].map((expiresIn) => ({
    name: `authenticated with expiresIn ${expiresIn}, renewBefore ${renewBefore}`,
    sentAt: T0,
    expiresIn,
    renewBefore,
    expected: { renewRequiredAt: Math.max(T0, T0 + expiresIn - renewBefore), renewRequiredExpiresIn: Math.min(expiresIn, renewBefore), deadline: T0 + expiresIn }
  }))
  // Rule 3: the client's local deadline is its receipt time + expiresIn, whatever expiresAt says.
  const localClock = 1_000_000
  const clientSchedule = [
    { serverSkewMs: 0, expiresIn: 300_000 },
    { serverSkewMs: 3_600_000, expiresIn: 300_000 },
    { serverSkewMs: -3_600_000, expiresIn: 30_000 },
    { serverSkewMs: 0, expiresIn: 2_000 }
  ].map(({ serverSkewMs, expiresIn }) => ({
    name: `server clock ${serverSkewMs >= 0 ? 'ahead' : 'behind'} by ${Math.abs(serverSkewMs)} ms, expiresIn ${expiresIn}`,
    receivedAt: localClock,
    frame: { type: 'authenticated', expiresAt: localClock + serverSkewMs + expiresIn, expiresIn },
    expected: {
      localDeadline: localClock + expiresIn,
      // The SPEC's example schedule: deadline − max(5 s, 10 % of expiresIn) (a client may renew earlier).
      renewBy: localClock + expiresIn - Math.max(5000, 0.1 * expiresIn)
    }
  }))
  // Rule 4: a renewal never moves the deadline back.
  const renewals = [
    ['a later deadline', T0 + 60_000, T0 + 120_000, 'renewed'],
    ['the same deadline', T0 + 60_000, T0 + 60_000, 'renewed'],
    ['an earlier deadline', T0 + 60_000, T0 + 59_999, ERRORS.token_stale.code]
  ].map(([name, current, next, outcome]) => ({ name, currentDeadline: current, renewalDeadline: next, expected: { outcome } }))
  return {
    deadlines,
    renewRequired,
    clientSchedule,
    renewals,
    defaults: { renewBefore, closeTimeout: DEFAULTS.closeTimeoutMs, authTimeout: DEFAULTS.authTimeoutMs, maxRenewalFailures: DEFAULTS.maxRenewalFailures }
  }
}

const header = (file: string, spec: string, what: string): Record<string, string> => ({
  $comment: `Generated by conformance/vectors/generate.ts from protocol/ and the reference server's parsers; do not edit (${file}).`,
  spec,
  description: what
})

/** Every vector file, by name, as the text to write. */
export function buildVectors (): Record<string, string> {
  const files: Record<string, unknown> = {
    'frames.json': { ...header('frames.json', 'SPEC.md §4', 'Protocol frames as text messages, and what a conforming receiver in `direction` does with each.'), vectors: frameVectors() },
    'subprotocol.json': { ...header('subprotocol.json', 'SPEC.md §2.1', 'Sec-WebSocket-Protocol header values: the credential a server reads, or the error (and HTTP status) it refuses with.'), vectors: subprotocolVectors() },
    'query.json': { ...header('query.json', 'SPEC.md §2.4', 'Request targets: whether the query counts as a credential (refused with credential_in_query) or is harmless.'), vectors: queryVectors() },
    'close-codes.json': { ...header('close-codes.json', 'SPEC.md §7', 'Close codes and the policy a client applies after each (reauthenticate, reconnect, stop); errors lists the error codes that close with it.'), vectors: closeCodeVectors() },
    'errors.json': { ...header('errors.json', 'SPEC.md §8', 'Every error code: HTTP status, close code, retry flag, and the policy of its close code.'), vectors: errorVectors() },
    'timing.json': { ...header('timing.json', 'SPEC.md §6', 'The timing rules as worked examples: deadlines from exp, when renew_required is due, the client\'s local schedule, stale renewals. Times in ms.'), ...timingVectors() }
  }
  return Object.fromEntries(Object.entries(files).map(([name, value]) => [name, JSON.stringify(value, null, 2) + '\n']))
}

export const VECTORS_DIRECTORY = fileURLToPath(new URL('.', import.meta.url))

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [name, text] of Object.entries(buildVectors())) writeFileSync(new URL(name, import.meta.url), text)
  console.log(`wrote ${Object.keys(buildVectors()).length} vector files to ${VECTORS_DIRECTORY}`)
}
