import fc from 'fast-check'
import { FrameType } from '../../protocol/index.ts'
import type { Family } from '../family.ts'
import { fail } from '../invariants.ts'
import { messagePlanArbitrary, messageText, type MessagePlan } from '../messages.ts'
import { judgeToken } from '../oracle.ts'
import { makeToken, tokenPlanArbitrary, type TokenPlan } from '../tokens.ts'
import { encodeClientFrame } from '../wire.ts'
import { authenticated, checkDeliveries, settle } from './sockets.ts'

export type FramePlan =
  | { readonly kind: 'text', readonly plan: MessagePlan, readonly fragments: number, readonly pingBetween: boolean }
  | { readonly kind: 'renew', readonly token: TokenPlan, readonly id: string | undefined }
  | { readonly kind: 'binary', readonly bytes: Uint8Array, readonly fragments: number }
  | { readonly kind: 'raw', readonly opcode: number, readonly rsv: number, readonly fin: boolean, readonly mask: boolean, readonly payload: 'json' | 'utf8-invalid' | 'bytes' | 'close-code', readonly bytes: Uint8Array, readonly code: number }

interface Input {
  readonly session: boolean
  readonly frames: readonly FramePlan[]
}

export function framePlanArbitrary (subject: string, sessionId: string | undefined, raw: boolean): fc.Arbitrary<FramePlan> {
  const text = fc.record({ kind: fc.constant('text' as const), plan: messagePlanArbitrary(), fragments: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 5 })), pingBetween: fc.boolean() })
  const renew = fc.record({ kind: fc.constant('renew' as const), token: tokenPlanArbitrary(subject, sessionId), id: fc.option(fc.stringMatching(/^[a-z0-9-]{1,12}$/), { nil: undefined }) })
  const binary = fc.record({ kind: fc.constant('binary' as const), bytes: fc.uint8Array({ maxLength: 64 }), fragments: fc.integer({ min: 1, max: 3 }) })
  const rawFrame = fc.record({
    kind: fc.constant('raw' as const),
    opcode: fc.oneof(fc.constantFrom(0x0, 0x1, 0x2, 0x8, 0x9, 0xa), fc.integer({ min: 0, max: 15 })),
    rsv: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) }),
    fin: fc.boolean(),
    mask: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    payload: fc.constantFrom<'json' | 'utf8-invalid' | 'bytes' | 'close-code'>('json', 'utf8-invalid', 'bytes', 'close-code'),
    bytes: fc.uint8Array({ maxLength: 140 }),
    code: fc.oneof(fc.constantFrom(1000, 1001, 1005, 1006, 1015, 2999, 3000, 4400, 4999, 5000, 0, 65535), fc.integer({ min: 0, max: 65535 }))
  })
  return raw
    ? fc.oneof({ weight: 3, arbitrary: rawFrame }, { weight: 1, arbitrary: text })
    : fc.oneof({ weight: 5, arbitrary: text }, { weight: 3, arbitrary: renew }, { weight: 1, arbitrary: binary })
}

function split (payload: Buffer, parts: number): Buffer[] {
  if (parts <= 1 || payload.length < 2) return [payload]
  const size = Math.ceil(payload.length / parts)
  const out: Buffer[] = []
  for (let at = 0; at < payload.length; at += size) out.push(payload.subarray(at, at + size))
  return out
}

/** The bytes of one planned frame (several, when fragmented), and the renew token it carries. */
export function encodePlan (frame: FramePlan, nowMs: number): { bytes: Buffer[], renew?: { token: string, id: string | undefined } } {
  if (frame.kind === 'renew') {
    const token = makeToken(frame.token, nowMs)
    const text = JSON.stringify(frame.id === undefined ? { type: FrameType.Renew, token } : { type: FrameType.Renew, token, id: frame.id })
    return { bytes: [encodeClientFrame(0x1, Buffer.from(text))], renew: { token, id: frame.id } }
  }
  if (frame.kind === 'raw') {
    let payload: Buffer
    if (frame.payload === 'json') payload = Buffer.from('{"type":"renew","token":"x"}')
    else if (frame.payload === 'utf8-invalid') payload = Buffer.from([0x7b, 0xc3, 0x28, 0xff, 0xfe, 0x7d])
    else if (frame.payload === 'close-code') payload = Buffer.concat([Buffer.from([frame.code >> 8, frame.code & 0xff]), Buffer.from(frame.bytes)])
    else payload = Buffer.from(frame.bytes)
    return { bytes: [encodeClientFrame(frame.opcode, payload, { fin: frame.fin, mask: frame.mask, rsv: frame.rsv })] }
  }
  const payload = frame.kind === 'text' ? Buffer.from(messageText(frame.plan)) : Buffer.from(frame.bytes)
  const parts = split(payload, frame.fragments)
  const bytes: Buffer[] = []
  parts.forEach((part, i) => {
    const opcode = i === 0 ? (frame.kind === 'text' ? 0x1 : 0x2) : 0x0
    bytes.push(encodeClientFrame(opcode, part, { fin: i === parts.length - 1 }))
    // A control frame may come between fragments (RFC 6455 section 5.4).
    if (frame.kind === 'text' && frame.pingBetween && i < parts.length - 1) bytes.push(encodeClientFrame(0x9, Buffer.from('mid')))
  })
  return { bytes }
}

/** Sends the frames on an authenticated connection and checks what came back and what the handler saw. */
export async function runFrames (env: Parameters<Family['run']>[1], subject: string, sessionId: string | undefined, frames: readonly FramePlan[]): Promise<void> {
  const client = await authenticated(env, subject, sessionId)
  const sentAt = Date.now()
  const renewals: Array<{ token: string, id: string | undefined }> = []
  let clientClose: number | undefined
  for (const frame of frames) {
    const { bytes, renew } = encodePlan(frame, sentAt)
    if (renew !== undefined) renewals.push(renew)
    if (frame.kind === 'raw' && frame.opcode === 0x8 && clientClose === undefined) clientClose = frame.payload === 'close-code' ? frame.code : 1005
    for (const chunk of bytes) client.write(chunk)
  }
  if (clientClose !== undefined) client.clientClose = clientClose
  const summary = await settle(client)
  const answeredAt = Date.now()
  const valid = renewals.filter(({ token }) => {
    const verdict = judgeToken(token, sentAt, answeredAt)
    return verdict.valid && verdict.subject === subject && verdict.sessionId === sessionId
  })
  const renewed = summary.frames.filter((f) => f.type === 'renewed')
  if (renewed.length > valid.length) fail('only-valid-tokens', `${renewed.length} renewed for ${valid.length} validly signed, current renewal tokens of the subject: ${JSON.stringify(renewals.map((r) => r.token))}`)
  for (const frame of renewed) {
    if (frame.id !== undefined && !valid.some((r) => r.id === frame.id)) fail('only-valid-tokens', `renewed ${String(frame.id)} answers no valid renewal token`)
  }
  checkDeliveries(env, subject)
}

export function postAuthFamily (): Family<Input> {
  return {
    name: 'post-auth',
    description: 'frames on an authenticated connection: reserved types in every spelling and size, near misses, renew frames with every token shape, binary, fragmented messages with pings between fragments',
    kind: 'socket',
    weight: 1.2,
    concurrency: 32,
    arbitrary: (index) => fc.boolean().chain((session) => fc.record({
      session: fc.constant(session),
      frames: fc.array(framePlanArbitrary(`post-${index}`, session ? `s-${index}` : undefined, false), { minLength: 1, maxLength: 8 })
    })),
    async run ({ session, frames }, env, index) {
      await runFrames(env, `post-${index}`, session ? `s-${index}` : undefined, frames)
    }
  }
}

export function wireFamily (): Family<Input> {
  return {
    name: 'wire',
    description: 'RFC 6455 frames in every shape on an authenticated connection: all 16 opcodes, RSV bits, unmasked, unfinished and orphan fragments, oversized control frames, invalid UTF-8, close frames with any code',
    kind: 'socket',
    weight: 0.8,
    concurrency: 32,
    arbitrary: (index) => fc.record({ session: fc.constant(false), frames: fc.array(framePlanArbitrary(`wire-${index}`, undefined, true), { minLength: 1, maxLength: 5 }) }),
    async run ({ frames }, env, index) {
      await runFrames(env, `wire-${index}`, undefined, frames)
    }
  }
}
