import { ERROR_ACTIONS } from './error-actions.generated.ts'
import { FrameType } from './frame-types.ts'
import type { AuthErrorFrame, AuthenticatedFrame, RenewRequiredFrame, RenewedFrame, ServerFrame } from './frames.ts'
import { MAX_REQUEST_ID_LENGTH } from './version.ts'

// Hand-written checks of the frames a client receives, equal to the TypeBox schemas of
// frames.ts: a client bundle built from TypeBox's compiler would be eight times the size
// of the whole client. test/protocol/frame-checks.test.ts proves, on many thousands of
// generated frames, that each check accepts and refuses exactly what its schema does.

type Fields = { readonly [key: string]: unknown }

/** At most `max` Unicode code points: how JSON Schema (and TypeBox) count `maxLength`. */
function codePointsAtMost (text: string, max: number): boolean {
  if (text.length <= max) return true
  // Here at most 2 × max units: spreading costs little, and counts as the string iterator does.
  return text.length <= 2 * max && [...text].length <= max
}

const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0
const isMs = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0
const isRequestId = (value: unknown): boolean => isText(value) && codePointsAtMost(value, MAX_REQUEST_ID_LENGTH)
/** Optional fields may be absent or `undefined`, as TypeBox allows by default. */
const isOptional = (value: unknown, check: (value: unknown) => boolean): boolean => value === undefined || check(value)
const hasDeadline = (frame: Fields): boolean => isMs(frame.expiresAt) && isMs(frame.expiresIn)

export function isAuthenticatedFrame (frame: Fields): frame is AuthenticatedFrame {
  return frame.type === FrameType.Authenticated && isText(frame.connectionId) && isText(frame.subject) &&
    isOptional(frame.sessionId, isText) && hasDeadline(frame)
}

export function isRenewRequiredFrame (frame: Fields): frame is RenewRequiredFrame {
  return frame.type === FrameType.RenewRequired && hasDeadline(frame)
}

export function isRenewedFrame (frame: Fields): frame is RenewedFrame {
  return frame.type === FrameType.Renewed && isOptional(frame.id, isRequestId) && hasDeadline(frame)
}

export function isAuthErrorFrame (frame: Fields): frame is AuthErrorFrame {
  return frame.type === FrameType.AuthError && typeof frame.code === 'string' && Object.hasOwn(ERROR_ACTIONS, frame.code) &&
    typeof frame.message === 'string' && typeof frame.closing === 'boolean' && typeof frame.retry === 'boolean' &&
    isOptional(frame.id, isRequestId)
}

/** The check of each frame type a client receives. */
const SERVER_FRAME_CHECKS: { readonly [type: string]: ((frame: Fields) => boolean) | undefined } = {
  [FrameType.Authenticated]: isAuthenticatedFrame,
  [FrameType.RenewRequired]: isRenewRequiredFrame,
  [FrameType.Renewed]: isRenewedFrame,
  [FrameType.AuthError]: isAuthErrorFrame
}

/** Whether `value` (parsed JSON) is a valid server frame: what `isServerFrame` of frames.ts says, without TypeBox. */
export function checkServerFrame (value: unknown): value is ServerFrame {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const type = (value as Fields).type
  const check = typeof type === 'string' && Object.hasOwn(SERVER_FRAME_CHECKS, type) ? SERVER_FRAME_CHECKS[type] : undefined
  return check !== undefined && check(value as Fields)
}
