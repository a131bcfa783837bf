import { ERRORS, checkServerFrame, isErrorCode, isProtocolCloseCode, parseJson, reservedTypeOf, type ErrorCode } from '../protocol/index.ts'

// The documented refusals, from protocol/ (the error table and the close codes) and the two
// statuses SPEC.md and README name outside it. A refusal outside these sets is a failure.

/** Statuses a handshake may be refused with besides the error table's (README "Limits": Node's header limit). */
export const HTTP_STATUSES_WITHOUT_CODE: ReadonlySet<number> = new Set([431])

/**
 * Standard close codes the server may send without an `auth_error` (SPEC.md sections 7 and 10):
 * 1009 for a message over `maxPayload` or `maxPreAuthPayload`, and the codes `ws` closes with
 * on a frame that breaks RFC 6455 (1002 protocol error, 1007 invalid UTF-8).
 */
export const STANDARD_CLOSE_CODES: ReadonlySet<number> = new Set([1002, 1007, 1009])

export class Violation extends Error {
  readonly invariant: string
  constructor (invariant: string, detail: string) {
    super(`${invariant}: ${detail}`)
    this.invariant = invariant
  }
}

export function fail (invariant: string, detail: string): never {
  throw new Violation(invariant, detail)
}

/** A refused upgrade: its status and body are a row of the error table, or Node's 431. */
export function checkHttpRefusal (status: number, headers: Record<string, string>, body: string): ErrorCode | undefined {
  if (HTTP_STATUSES_WITHOUT_CODE.has(status)) return undefined
  const parsed = parseJson(body) as { code?: unknown, statusCode?: unknown } | undefined
  const code = parsed?.code
  if (!isErrorCode(code)) fail('documented-refusal', `HTTP ${status} without a documented code: ${JSON.stringify(body.slice(0, 120))}`)
  if (ERRORS[code].status !== status || parsed?.statusCode !== status) fail('documented-refusal', `HTTP ${status} with code ${code}, whose status is ${ERRORS[code].status}`)
  if (headers['cache-control'] !== 'no-store') fail('documented-refusal', `HTTP ${status} ${code} without Cache-Control: no-store`)
  return code
}

export interface ServerFrame {
  readonly opcode: number
  readonly payload: Buffer
}

export interface StreamSummary {
  readonly frames: ReadonlyArray<Record<string, unknown>>
  readonly closeCode?: number
  readonly closeReason?: string
}

/**
 * Checks everything the server sent after a 101: each text message is a valid server frame
 * (the fuzz handler sends nothing of its own), each `auth_error` carries its code's `retry`,
 * a close by the protocol follows `auth_error` with `closing: true` of the same code, a
 * standard close is one of {@link STANDARD_CLOSE_CODES} (or the echo of the client's own
 * close), and nothing follows a close frame or a closing `auth_error` but the close.
 */
export function checkServerStream (frames: readonly ServerFrame[], clientClose: number | undefined): StreamSummary {
  const parsed: Array<Record<string, unknown>> = []
  let closingError: ErrorCode | undefined
  for (let i = 0; i < frames.length; i++) {
    const { opcode, payload } = frames[i] as ServerFrame
    if (opcode === 0x8) {
      if (i !== frames.length - 1) fail('nothing-after-close', `${frames.length - 1 - i} frame(s) after the close frame`)
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005
      const reason = payload.subarray(2).toString()
      if (clientClose !== undefined && (code === clientClose || code === 1005) && closingError === undefined) {
        // The echo of the client's own close (RFC 6455 section 5.5.1), whatever its code.
      } else if (closingError !== undefined) {
        if (code !== ERRORS[closingError].closeCode || reason !== closingError) fail('documented-close', `auth_error ${closingError} then close ${code} "${reason}"`)
      } else if (isProtocolCloseCode(code)) {
        fail('documented-close', `close ${code} without a closing auth_error`)
      } else if (!STANDARD_CLOSE_CODES.has(code)) {
        fail('documented-close', `close ${code} "${reason}" is not documented for this situation`)
      }
      return { frames: parsed, closeCode: code, closeReason: reason }
    }
    if (closingError !== undefined) fail('nothing-after-close', `opcode ${opcode} after auth_error ${closingError} with closing: true`)
    if (opcode === 0x9 || opcode === 0xa) continue
    if (opcode !== 0x1) fail('server-frames', `the server sent opcode ${opcode}`)
    const frame = parseJson(payload.toString())
    if (!checkServerFrame(frame)) fail('server-frames', `not a valid server frame: ${payload.toString().slice(0, 200)}`)
    const record = frame as unknown as Record<string, unknown>
    if (frame.type === 'auth_error') {
      if (frame.retry !== ERRORS[frame.code].retry) fail('documented-refusal', `auth_error ${frame.code} with retry ${String(frame.retry)}`)
      if (frame.closing) closingError = frame.code
    }
    parsed.push(record)
  }
  return { frames: parsed }
}

/** Whether an application message is a protocol frame (SPEC.md section 4): it must never reach the handler. */
export function isReservedMessage (data: Buffer, isBinary: boolean): boolean {
  return !isBinary && reservedTypeOf(parseJson(data.toString())) !== undefined
}
