import { createHmac } from 'node:crypto'
import fc from 'fast-check'

/** The fuzz target's HMAC key; only tokens signed with it (and current) may ever be accepted. */
export const FUZZ_KEY = 'fuzz-key-that-is-at-least-32-bytes-long!!'
const WRONG_KEY = 'another-key-that-is-at-least-32-bytes-long'

/**
 * A token described by its parts rather than its text, so a case replays the same shape
 * later although its times are relative to when it runs (tokens must be current to matter).
 */
export interface TokenPlan {
  readonly header: unknown
  /** Claims; numbers under `rel:` are seconds from now when the token is made. */
  readonly claims: Record<string, unknown>
  readonly signing: 'key' | 'wrong-key' | 'empty' | 'absent' | 'garbage'
  readonly edits: ReadonlyArray<readonly [kind: 'set' | 'insert' | 'delete', position: number, char: string]>
  /** Raw text instead of a built token (random shapes that are not JWTs at all). */
  readonly raw?: string
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const EDIT_CHARS = B64URL + '.=+/ %"\\,;\t\u00e9'

const relative = (seconds: number): string => `rel:${seconds}`

const timeClaim = fc.oneof(
  fc.constantFrom(-86_400, -60, -1, 30, 60, 3600).map(relative),
  fc.double({ min: -120, max: 120, noNaN: true }).map(relative),
  fc.constantFrom<unknown>(undefined, null, '60', 1e20, -1, 0, Number.MAX_SAFE_INTEGER, true, [1], {})
)

const subject = (own: string): fc.Arbitrary<unknown> => fc.oneof(
  { weight: 6, arbitrary: fc.constant(own) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, '', 42, null, ['a'], 'x'.repeat(1025), 'other-subject') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }
)

export const headerArbitrary: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ alg: 'HS256', typ: 'JWT' }) },
  { weight: 1, arbitrary: fc.constant({ alg: 'HS256' }) },
  {
    weight: 3,
    arbitrary: fc.record({
      alg: fc.constantFrom<unknown>('HS256', 'none', 'None', 'hs256', 'HS512', 'RS256', 'ES256', '', undefined, 256),
      typ: fc.constantFrom<unknown>(undefined, 'JWT', 'at+jwt', 'application/at+jwt', 'jwt', 'refresh+jwt', 'id', 7),
      crit: fc.constantFrom<unknown>(undefined, undefined, ['exp'], []),
      kid: fc.constantFrom<unknown>(undefined, 'k1', '')
    }, { requiredKeys: [] })
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>([], 'HS256', null, 1, '{"alg":"HS256"', '{"alg":"HS256","alg":"none"}') }
)

/** Valid tokens of `own` most of the time, and every kind of broken one. */
export function tokenPlanArbitrary (own: string, sessionId?: string): fc.Arbitrary<TokenPlan> {
  const built = fc.record({
    header: headerArbitrary,
    claims: fc.record({
      sub: subject(own),
      exp: fc.oneof({ weight: 4, arbitrary: fc.constant(relative(60)) }, { weight: 2, arbitrary: timeClaim }),
      nbf: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: timeClaim }),
      iat: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: timeClaim }),
      sid: fc.oneof({ weight: 4, arbitrary: fc.constant(sessionId) }, { weight: 1, arbitrary: fc.constantFrom<unknown>('s-other', '', 5) }),
      jti: fc.option(fc.string({ maxLength: 8 }), { nil: undefined })
    }, { requiredKeys: [] }),
    signing: fc.constantFrom<TokenPlan['signing']>('key', 'key', 'key', 'key', 'wrong-key', 'empty', 'absent', 'garbage'),
    edits: fc.oneof(
      { weight: 3, arbitrary: fc.constant([]) },
      {
        weight: 2,
        arbitrary: fc.array(fc.tuple(fc.constantFrom<'set' | 'insert' | 'delete'>('set', 'insert', 'delete'), fc.nat({ max: 400 }), fc.constantFrom(...EDIT_CHARS)), { minLength: 1, maxLength: 3 })
      }
    )
  })
  return fc.oneof(
    { weight: 9, arbitrary: built },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.stringMatching(/^[A-Za-z0-9_-]{0,20}\.[A-Za-z0-9_-]{0,20}\.[A-Za-z0-9_-]{0,20}$/),
        fc.constantFrom('', '.', '..', 'eyJ.eyJ.', 'a'.repeat(20_000))
      ).map((raw) => ({ header: undefined, claims: {}, signing: 'absent' as const, edits: [], raw }))
    }
  )
}

function resolveTimes (claims: Record<string, unknown>, nowMs: number): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(claims)) {
    if (value === undefined) continue
    out[name] = typeof value === 'string' && value.startsWith('rel:') ? nowMs / 1000 + Number(value.slice(4)) : value
  }
  return out
}

const encode = (value: unknown): string =>
  Buffer.from(typeof value === 'string' && value.startsWith('{') ? value : JSON.stringify(value) ?? 'null').toString('base64url')

/** The token a plan describes, made at `nowMs`. */
export function makeToken (plan: TokenPlan, nowMs: number): string {
  if (plan.raw !== undefined) return plan.raw
  const input = `${encode(plan.header)}.${encode(resolveTimes(plan.claims, nowMs))}`
  let signature = ''
  if (plan.signing === 'key' || plan.signing === 'wrong-key') {
    signature = createHmac('sha256', plan.signing === 'key' ? FUZZ_KEY : WRONG_KEY).update(input).digest('base64url')
  } else if (plan.signing === 'garbage') {
    signature = 'c2lnbmF0dXJl'
  }
  let token = plan.signing === 'absent' ? input : `${input}.${signature}`
  for (const [kind, position, char] of plan.edits) {
    const at = token.length === 0 ? 0 : position % (token.length + (kind === 'insert' ? 1 : 0))
    if (kind === 'set') token = token.slice(0, at) + char + token.slice(at + 1)
    else if (kind === 'insert') token = token.slice(0, at) + char + token.slice(at)
    else token = token.slice(0, at) + token.slice(at + 1)
  }
  return token
}
