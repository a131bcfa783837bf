import { ERROR_CODES, type ErrorCode } from '../protocol/index.ts'
import type { ClusterCommand, ConnectionSelector, Revocation } from '../plugin/index.ts'
import { revocationProblem } from '../plugin/revocation.ts'

/** What instances say to each other on the channel; `origin` lets each skip its own. */
export type ChannelMessage =
  | { readonly v: 1, readonly origin: string, readonly kind: 'revoked', readonly revocation: Revocation }
  | { readonly v: 1, readonly origin: string, readonly kind: 'command', readonly command: ClusterCommand }

const CODES: ReadonlySet<string> = new Set(ERROR_CODES)

function selectorOf (value: unknown): ConnectionSelector | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const selector: ConnectionSelector = {}
  let fields = 0
  for (const key of ['connectionId', 'subject', 'sessionId'] as const) {
    const field = (value as Record<string, unknown>)[key]
    if (field === undefined) continue
    if (typeof field !== 'string' || field.length === 0) return undefined
    selector[key] = field
    fields++
  }
  return fields === 0 ? undefined : selector
}

function commandOf (value: unknown): ClusterCommand | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const { type, selector, code, message, token } = value as Record<string, unknown>
  const selected = selectorOf(selector)
  if (selected === undefined) return undefined
  if (type === 'close' && typeof code === 'string' && CODES.has(code) && (message === undefined || typeof message === 'string')) {
    return { type, selector: selected, code: code as ErrorCode, message }
  }
  if (type === 'renew' && typeof token === 'string' && token.length > 0) return { type, selector: selected, token }
  return undefined
}

/**
 * Reads a channel message; `undefined` for anything malformed (another version, another
 * application on the same channel), which the store ignores rather than act on.
 */
export function decode (text: string): ChannelMessage | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object') return undefined
  const { v, origin, kind, revocation, command } = value as Record<string, unknown>
  if (v !== 1 || typeof origin !== 'string') return undefined
  if (kind === 'revoked' && revocationProblem(revocation) === undefined) {
    return { v, origin, kind, revocation: revocation as Revocation }
  }
  const decoded = kind === 'command' ? commandOf(command) : undefined
  return decoded === undefined ? undefined : { v, origin, kind: 'command', command: decoded }
}

export function encode (message: ChannelMessage): string {
  return JSON.stringify(message)
}
