import fc from 'fast-check'
import { ERRORS, FrameType } from '../../protocol/index.ts'
import type { Family } from '../family.ts'
import { fail } from '../invariants.ts'
import { judgeToken } from '../oracle.ts'
import { makeToken, tokenPlanArbitrary, type TokenPlan } from '../tokens.ts'
import { encodeClientFrame } from '../wire.ts'
import { authenticated, checkDeliveries, settle } from './sockets.ts'

interface Input {
  readonly lifetimeMs: number
  readonly renewals: readonly TokenPlan[]
}

/**
 * Scheduled renewals of a short-lived credential: on `renew_required`, one renewal token
 * (of every shape) at a time. A valid one gets `renewed`; once no valid one came, the
 * server must close with 4440 at the deadline, and never accept later traffic.
 */
export function renewalFamily (): Family<Input> {
  return {
    name: 'renewal',
    description: 'scheduled renewals of 0.4-1.2 s credentials: renew on renew_required with tokens of every shape, then expiry closed with 4440 when no valid renewal came',
    kind: 'socket',
    weight: 0.2,
    concurrency: 48,
    arbitrary: (index) => fc.record({
      lifetimeMs: fc.integer({ min: 400, max: 1200 }),
      renewals: fc.array(tokenPlanArbitrary(`renew-${index}`, `s-${index}`), { minLength: 1, maxLength: 3 })
    }),
    async run ({ lifetimeMs, renewals }, env, index) {
      const subject = `renew-${index}`
      const sessionId = `s-${index}`
      const client = await authenticated(env, subject, sessionId, lifetimeMs / 1000, true)
      if (client === undefined) return
      const expiresAt = (text: string | undefined): number => (JSON.parse(text ?? '{}') as { expiresAt?: number }).expiresAt ?? 0
      let deadline = expiresAt(client.frames[0]?.payload.toString())
      for (const [i, plan] of renewals.entries()) {
        // A renewal to a long-lived token ends the case: its next renew_required is far away.
        if (deadline - Date.now() > 2000) break
        const asked = client.frames.length
        const requested = await client.until(() => client.serverClosed || client.frames.slice(asked).some((f) => f.payload.includes('"renew_required"')))
        if (!requested || client.serverClosed) break
        const sentAt = Date.now()
        const token = makeToken(plan, sentAt)
        const id = `r${i}`
        client.write(encodeClientFrame(0x1, Buffer.from(JSON.stringify({ type: FrameType.Renew, token, id }))))
        const answered = await client.until(() => client.serverClosed || client.frames.slice(asked).some((f) => f.payload.includes(`"id":"${id}"`)))
        if (!answered) fail('server-answers', `no answer to renew ${id}`)
        const reply = client.frames.slice(asked).map((f) => f.payload.toString()).find((text) => text.includes(`"id":"${id}"`))
        if (reply?.includes('"renewed"') === true) {
          const verdict = judgeToken(token, sentAt, Date.now())
          if (!verdict.valid || verdict.subject !== subject || verdict.sessionId !== sessionId) fail('only-valid-tokens', `renewed with ${token}`)
          deadline = expiresAt(reply)
        } else {
          break
        }
      }
      if (deadline - Date.now() > 2000) {
        await settle(client)
        checkDeliveries(env, subject)
        return
      }
      // Without a valid renewal the connection must close at its deadline, 4440.
      const closedInTime = await client.until(() => client.serverClosed)
      const closedAt = Date.now()
      const summary = await settle(client, { finish: true })
      if (!closedInTime) fail('expiry-enforced', `still open ${closedAt - deadline} ms after its deadline`)
      // Any other close came from a refusal (an oversized renew frame, too many failures):
      // checkServerStream has already required its closing auth_error of the same code.
      if (summary.closeCode === ERRORS.credential_expired.closeCode && closedAt < deadline - 5) fail('expiry-enforced', `closed 4440 ${deadline - closedAt} ms before the deadline`)
      checkDeliveries(env, subject)
    }
  }
}
