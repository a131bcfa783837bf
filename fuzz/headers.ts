import fc from 'fast-check'
import { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL } from '../protocol/index.ts'
import { ALLOWED_ORIGIN, COOKIE_NAME } from './target.ts'
import { makeToken, tokenPlanArbitrary, type TokenPlan } from './tokens.ts'

// The handshake's inputs as plans: the tokens in them are made when the case runs.

export type EntryPlan =
  | { readonly kind: 'version' }
  | { readonly kind: 'bearer', readonly token: TokenPlan, readonly prefix: string }
  | { readonly kind: 'other', readonly text: string }

export interface HandshakePlan {
  /** Sec-WebSocket-Protocol header lines (none, one, or several), each a list of entries and separators. */
  readonly protocols: ReadonlyArray<{ readonly entries: readonly EntryPlan[], readonly separators: readonly string[] }>
  readonly cookies: ReadonlyArray<{ readonly name: string, readonly value: TokenPlan | string, readonly quoted: boolean }>
  readonly origin: string | undefined
  readonly query: string | undefined
  /** Bytes of an extra header: header sizes up to past Node's 16 KiB limit. */
  readonly padding: number
  readonly authFrameRoute: boolean
}

const TCHAR_TEXT = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/)

export function handshakePlanArbitrary (subject: string): fc.Arbitrary<HandshakePlan> {
  const token = tokenPlanArbitrary(subject)
  const entry: fc.Arbitrary<EntryPlan> = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: 'version' as const }) },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('bearer' as const),
        token,
        prefix: fc.constantFrom(BEARER_SUBPROTOCOL_PREFIX, BEARER_SUBPROTOCOL_PREFIX, BEARER_SUBPROTOCOL_PREFIX, 'WSAUTH.BEARER.', 'wsauth.Bearer.', 'base64url.bearer.authorization.k8s.io.', '')
      })
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('other' as const),
        text: fc.oneof(TCHAR_TEXT, fc.constantFrom('chat', 'wsauth.v2', 'wsauth.V1', 'wsauth.bearer.', 'bearer', '', ' ', 'a b', 'a/b', 'a"b', 'é', 'x\u0000y'), fc.string({ maxLength: 10 }))
      })
    }
  )
  const cookie = fc.record({
    name: fc.constantFrom(COOKIE_NAME, COOKIE_NAME, 'other', 'WSAUTH', ` ${COOKIE_NAME}`),
    value: fc.oneof({ weight: 3, arbitrary: token }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }),
    quoted: fc.boolean()
  })
  return fc.record({
    protocols: fc.oneof(
      { weight: 1, arbitrary: fc.constant([]) },
      { weight: 6, arbitrary: fc.array(fc.record({ entries: fc.array(entry, { minLength: 1, maxLength: 4 }), separators: fc.array(fc.constantFrom(',', ', ', ' ,', ',\t', ',,', ';'), { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 2 }) }
    ),
    cookies: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(cookie, { minLength: 1, maxLength: 3 }) }),
    origin: fc.constantFrom(undefined, undefined, ALLOWED_ORIGIN, ALLOWED_ORIGIN.toUpperCase(), 'https://app.example.evil', 'null', 'https://app.example:443', ''),
    query: fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constantFrom('x=1', 'token=abc', 'access_token=', 'a=eyJhbGciOi.eyJzdWIi.sig', 'jwt', 'q=%65yJhbGciOi.eyJzdWIi.x', 'auth[token]=1', 'x=%zz') }
    ),
    padding: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 20_000 }) }),
    authFrameRoute: fc.boolean()
  })
}

export interface MadeHandshake {
  readonly protocolHeaders: string[]
  readonly cookie: string | undefined
  readonly origin: string | undefined
  readonly query: string | undefined
  readonly padding: number
  /** Every token presented (bearer entries of any prefix, cookie values), for the oracle. */
  readonly tokens: string[]
}

export function makeHandshake (plan: HandshakePlan, nowMs: number): MadeHandshake {
  const tokens: string[] = []
  const protocolHeaders = plan.protocols.map(({ entries, separators }) => entries.map((entry, i) => {
    const text = entry.kind === 'version'
      ? SUBPROTOCOL
      : entry.kind === 'bearer' ? `${entry.prefix}${remember(makeToken(entry.token, nowMs))}` : entry.text
    return i === 0 ? text : `${separators[i % separators.length] as string}${text}`
  }).join(''))
  function remember (token: string): string {
    tokens.push(token)
    return token
  }
  const cookie = plan.cookies.length === 0
    ? undefined
    : plan.cookies.map(({ name, value, quoted }) => {
      const text = typeof value === 'string' ? value : remember(makeToken(value, nowMs))
      return `${name}=${quoted ? `"${text}"` : text}`
    }).join('; ')
  return { protocolHeaders, cookie, origin: plan.origin, query: plan.query, padding: plan.padding, tokens }
}
