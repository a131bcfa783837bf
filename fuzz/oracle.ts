import { createHmac } from 'node:crypto'
import { FUZZ_KEY } from './tokens.ts'

// An independent statement of "validly signed and current", written from SPEC.md section 3
// and not from plugin/: the invariant is that the server never accepts a token this
// refuses. (The server may refuse more: `typ`, `crit`, claim ranges, revocation.)

const SEGMENT = /^[A-Za-z0-9_-]+$/
const SIGNATURE = /^[A-Za-z0-9_-]+$/

function json (segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString())
  } catch {
    return undefined
  }
}

export interface OracleVerdict {
  readonly valid: boolean
  readonly subject?: string
  readonly sessionId?: unknown
  /** The deadline, ms. */
  readonly expiresAt?: number
}

/**
 * Whether `token` is an HS256 JWS signed with the fuzz key whose `exp` is after `notAfterMs`
 * (the time just before it was sent), whose `nbf`, if any, is not after `notBeforeMs` (the
 * time its answer arrived), and whose `sub` is a non-empty string.
 */
export function judgeToken (token: string, notAfterMs: number, notBeforeMs: number): OracleVerdict {
  const parts = token.split('.')
  if (parts.length !== 3) return { valid: false }
  const [header, payload, signature] = parts as [string, string, string]
  if (!SEGMENT.test(header) || !SEGMENT.test(payload) || !SIGNATURE.test(signature)) return { valid: false }
  const expected = createHmac('sha256', FUZZ_KEY).update(`${header}.${payload}`).digest()
  if (!Buffer.from(signature, 'base64url').equals(expected)) return { valid: false }
  const protectedHeader = json(header) as { alg?: unknown } | undefined
  if (typeof protectedHeader !== 'object' || protectedHeader === null || protectedHeader.alg !== 'HS256') return { valid: false }
  const claims = json(payload) as Record<string, unknown> | undefined
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return { valid: false }
  const { exp, nbf, sub } = claims
  if (typeof exp !== 'number' || !(exp * 1000 > notAfterMs)) return { valid: false }
  if (nbf !== undefined && !(typeof nbf === 'number' && nbf * 1000 <= notBeforeMs)) return { valid: false }
  if (typeof sub !== 'string' || sub.length === 0) return { valid: false }
  return { valid: true, subject: sub, sessionId: claims.sid, expiresAt: exp * 1000 }
}
