import fc from 'fast-check'
import { FrameType } from '../../protocol/index.ts'
import type { Family } from '../family.ts'
import { messagePlanArbitrary, messageText, type MessagePlan } from '../messages.ts'
import { ROUTES } from '../target.ts'
import { makeToken, tokenPlanArbitrary, type TokenPlan } from '../tokens.ts'
import { encodeClientFrame } from '../wire.ts'
import { checkAccepted, checkDeliveries, checkUpgradeAnswer, open, settle } from './sockets.ts'

type Message =
  | { readonly kind: 'auth', readonly token: TokenPlan, readonly extra: boolean }
  | { readonly kind: 'text', readonly plan: MessagePlan }
  | { readonly kind: 'binary', readonly bytes: Uint8Array }

interface Input {
  readonly messages: readonly Message[]
}

export function preAuthFamily (): Family<Input> {
  return {
    name: 'pre-auth',
    description: 'frames on an auth-frame route before authentication: auth frames with every token shape, mutated and reserved frames, binary, sizes past the pre-auth cap, application frames pipelined behind auth',
    kind: 'socket',
    weight: 0.8,
    concurrency: 32,
    arbitrary: (index) => {
      const auth = fc.record({ kind: fc.constant('auth' as const), token: tokenPlanArbitrary(`pre-${index}`), extra: fc.boolean() })
      const other = fc.oneof(
        { weight: 4, arbitrary: messagePlanArbitrary().map((plan) => ({ kind: 'text' as const, plan })) },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((bytes) => ({ kind: 'binary' as const, bytes })) }
      )
      return fc.record({
        messages: fc.oneof(
          { weight: 4, arbitrary: fc.tuple(auth, fc.array(other, { maxLength: 5 })).map(([first, rest]) => [first, ...rest]) },
          { weight: 1, arbitrary: fc.array(fc.oneof(auth, other), { minLength: 1, maxLength: 5 }) }
        )
      })
    },
    async run ({ messages }, env) {
      const client = open(env, ROUTES.authFrame, [])
      await client.until(() => client.response !== undefined)
      checkUpgradeAnswer(client, [])
      if (client.response?.status !== 101) return
      const sentAt = Date.now()
      const tokens: string[] = []
      messages.forEach((message, i) => {
        if (message.kind === 'binary') {
          client.write(encodeClientFrame(0x2, Buffer.from(message.bytes)))
          return
        }
        let text: string
        if (message.kind === 'auth') {
          const token = makeToken(message.token, sentAt)
          // Only the first message can authenticate; a later auth frame is a protocol frame like any other.
          if (i === 0) tokens.push(token)
          text = JSON.stringify(message.extra ? { type: FrameType.Auth, token, unknown: 1 } : { type: FrameType.Auth, token })
        } else {
          text = messageText(message.plan)
        }
        client.write(encodeClientFrame(0x1, Buffer.from(text)))
      })
      const summary = await settle(client)
      const answeredAt = Date.now()
      const subject = checkAccepted(summary, tokens, sentAt, answeredAt)
      if (subject !== undefined) checkDeliveries(env, subject)
    }
  }
}
