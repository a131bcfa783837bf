import { checkServerFrame, parseJson, reservedTypeOf, type ServerFrame } from '../protocol/core.ts'

/** A message whose `type` the protocol reserves but that fails validation: dropped, never delivered. */
export const INVALID_FRAME = Symbol('invalid protocol frame')

/**
 * Tells a protocol frame from an application message. Returns the frame, `INVALID_FRAME`
 * for a reserved `type` that does not validate (so that protocol frames, even broken
 * ones, never reach the application), or `undefined` for an application message.
 */
export function readFrame (data: unknown): ServerFrame | typeof INVALID_FRAME | undefined {
  // Frames are JSON objects with a "type" member: everything else skips the parse.
  if (typeof data !== 'string' || data.charCodeAt(0) !== 0x7b || !data.includes('"type"')) return undefined
  const value = parseJson(data)
  if (reservedTypeOf(value) === undefined) return undefined
  return checkServerFrame(value) ? value : INVALID_FRAME
}
