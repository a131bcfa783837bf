import fc from 'fast-check'
import { mayBeReservedFrame } from '../../plugin/frame-detection.ts'
import type { Family } from '../family.ts'
import { fail, isReservedMessage } from '../invariants.ts'
import { messagePlanArbitrary, messageText, type MessagePlan } from '../messages.ts'

type Input = { readonly kind: 'plan', readonly plan: MessagePlan } | { readonly kind: 'bytes', readonly bytes: Uint8Array }

/**
 * The pre-filter that decides which application messages are parsed: it must never let a
 * protocol frame through unparsed (that frame would reach the handler). Messages over the
 * frame limit stay in: their detection is the same code path whatever the size.
 */
export function frameDetectionFamily (): Family<Input> {
  return {
    name: 'frame-detection',
    description: 'protocol frames and near misses in every JSON spelling (escapes, whitespace, order, duplicates, nesting, sizes) and random bytes through the plugin\'s reserved-frame pre-filter',
    kind: 'in-process',
    weight: 25,
    concurrency: 1,
    arbitrary: () => fc.oneof(
      { weight: 9, arbitrary: messagePlanArbitrary().map((plan) => ({ kind: 'plan' as const, plan })) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'bytes' as const, bytes })) }
    ),
    run (input) {
      const data = input.kind === 'plan' ? Buffer.from(messageText(input.plan)) : Buffer.from(input.bytes)
      if (isReservedMessage(data, false) && !mayBeReservedFrame(data)) {
        fail('no-reserved-frame-to-app', `a protocol frame passes the pre-filter unparsed: ${data.toString().slice(0, 300)}`)
      }
    }
  }
}
