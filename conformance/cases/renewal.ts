import { FrameType } from '../../protocol/index.ts'
import type { CaseDefinition, CaseRun, Peer } from '../server/case-run.ts'
import { answerRenewals, complete, connect, echoed, expectEcho, PROMPT_MS, probe, tokensIssuedAfter } from './steps.ts'

const HOUR = 3_600_000

/** Waits for the client's next renew frame, up to `withinMs`; fails the case with `why` if none comes. */
async function expectRenew (run: CaseRun, peer: Peer, count: number, withinMs: number, why: string): Promise<Peer['messages'][number]> {
  if (!await run.until(() => peer.renews.length >= count || peer.ended !== undefined, withinMs) || peer.renews.length < count) run.fail(why)
  return peer.renews[count - 1] as Peer['messages'][number]
}

/** A renew must carry a token fetched for it: not the token the connection already runs on. */
function expectFresh (run: CaseRun, renew: Peer['messages'][number], current: string): void {
  run.expect(renew.json?.token !== current, 'SPEC §9 rule 3: the renew carries the token the connection already has, not a new one')
}

export const renewalCases: CaseDefinition[] = [
  {
    id: '5.2.1',
    section: '5. Lifecycle (flow 2)',
    title: 'Application messages keep their order across a renewal',
    rule: 'Fifteen application messages sent 60 ms apart around a renewal (renew_required after the fifth) all come back, once each, in order; the client renews meanwhile.',
    async run (run) {
      const { peer } = await connect(run, 4000)
      const answers = answerRenewals(run, peer, 10_000)
      const sent: string[] = []
      for (let n = 0; n < 15; n++) {
        if (n === 5) peer.renewRequired(3700)
        sent.push(probe(peer))
        await run.sleep(60)
      }
      await run.until(() => sent.every((text) => echoed(peer, text)), PROMPT_MS)
      const back = peer.applicationMessages.map((m) => m.data.toString()).filter((text) => sent.includes(text))
      run.expect(back.length === sent.length && back.every((text, i) => text === sent[i]), `SPEC §5 flow 2: the messages came back as [${back.map((text) => JSON.parse(text).n as number).join(', ')}], not in order once each`)
      run.expect(peer.renews.length >= 1, 'SPEC §9 rule 3: no renew after renew_required')
      answers.stop()
      await complete(run, peer)
    }
  },
  {
    id: '9.3.1',
    section: '9. Client behaviour',
    title: 'Renews on renew_required, before the deadline',
    rule: 'After renew_required (3000 ms before the deadline), a valid renew with a newly fetched token arrives within 1000 ms.',
    async run (run) {
      const { peer, token } = await connect(run, 3000)
      peer.renewRequired(3000)
      const renew = await expectRenew(run, peer, 1, 1000, 'SPEC §9 rule 3: no renew within 1000 ms of renew_required')
      expectFresh(run, renew, token)
      peer.renewed(renew.json?.id, 10_000)
      await expectEcho(run, peer, 'SPEC §5 flow 2')
      await complete(run, peer)
    }
  },
  {
    id: '6.3.1',
    section: '6. Timing rules',
    title: 'Schedules from expiresIn: server clock an hour ahead',
    rule: 'The server\'s clock (and the token\'s exp) is an hour ahead; authenticated says expiresIn 3000 and no renew_required comes. The client renews within those 3000 ms, by its own timer.',
    tokenLifetimeMs: 3000,
    async run (run) {
      run.tokenSkewMs = HOUR
      const { peer, token } = await connect(run, 3000, { skewMs: HOUR })
      const renew = await expectRenew(run, peer, 1, 3000, 'SPEC §6 rule 3: no renew before the deadline expiresIn gave (a client scheduling from expiresAt or exp on its own clock thinks it has an hour)')
      expectFresh(run, renew, token)
      peer.renewed(renew.json?.id, 10_000, HOUR)
      await complete(run, peer)
    }
  },
  {
    id: '6.3.2',
    section: '6. Timing rules',
    title: 'Schedules from expiresIn: server clock an hour behind',
    rule: 'The server\'s clock (and the token\'s exp) is an hour behind, so expiresAt is in the client\'s past; authenticated says expiresIn 4000. The client neither renews nor closes in the first 1000 ms, and renews before the 4000 ms are over.',
    tokenLifetimeMs: 4000,
    async run (run) {
      run.tokenSkewMs = -HOUR
      const { peer } = await connect(run, 4000, { skewMs: -HOUR })
      await run.sleep(1000)
      run.expect(peer.renews.length === 0 && peer.ended === undefined, 'SPEC §6 rule 3: the client renewed or closed at once, as if expiresAt (on its own clock) had passed')
      const renew = await expectRenew(run, peer, 1, 3000, 'SPEC §6 rule 3: no renew before the deadline expiresIn gave')
      peer.renewed(renew.json?.id, 10_000, -HOUR)
      await complete(run, peer)
    }
  },
  {
    id: '9.3.2',
    section: '9. Client behaviour',
    title: 'One renewal in flight when triggers repeat',
    rule: 'renew_required arrives three times, 200 ms apart, while the kit takes 800 ms to answer the token request: the client makes one token request and sends one renew.',
    async run (run) {
      const { peer } = await connect(run, 5000)
      const before = run.tokens.length
      run.tokenDelayMs = 800
      for (let i = 0; i < 3; i++) {
        peer.renewRequired(5000 - i * 200)
        await run.sleep(200)
      }
      const renew = await expectRenew(run, peer, 1, 2500, 'SPEC §9 rule 3: no renew after renew_required')
      await run.sleep(300)
      peer.renewed(renew.json?.id, 10_000)
      await run.sleep(300)
      run.expect(run.tokens.length - before === 1, `SPEC §9 rule 3: ${run.tokens.length - before} token requests for one renewal (single flight: one)`)
      run.expect(peer.renews.length === 1, `SPEC §9 rule 3: ${peer.renews.length} renew frames for one renewal (single flight: one)`)
      await complete(run, peer)
    }
  },
  {
    id: '5.3.1',
    section: '5. Lifecycle (flow 3)',
    title: 'A refused renewal with retry: true is retried',
    rule: 'The first renew is answered by auth_error revocation_unavailable (closing: false, retry: true). The client renews again, with a token fetched after the refusal, before the deadline (5000 ms).',
    async run (run) {
      const { peer } = await connect(run, 5000)
      peer.renewRequired(5000)
      const first = await expectRenew(run, peer, 1, 2000, 'SPEC §9 rule 3: no renew after renew_required')
      peer.authError('revocation_unavailable', false, first.json?.id)
      const refusedAt = run.timeline.now()
      const second = await expectRenew(run, peer, 2, 4000, 'SPEC §9 rule 5: the refused renewal (retry: true) was not tried again before the deadline')
      run.expect(tokensIssuedAfter(run, refusedAt) >= 1, 'SPEC §9 rule 5: the retry did not obtain a new token')
      run.expect(second.json?.token !== first.json?.token, 'SPEC §9 rule 5: the retry carries the refused token again')
      peer.renewed(second.json?.id, 10_000)
      await complete(run, peer)
    }
  },
  {
    id: '5.3.2',
    section: '5. Lifecycle (flow 3)',
    title: 'A refused renewal with retry: false is not retried',
    rule: 'The first renew is answered by auth_error subject_mismatch (closing: false, retry: false). Until the deadline (2500 ms) the client sends no other renew and keeps the connection open; the kit then closes it with 4440.',
    async run (run) {
      const { peer } = await connect(run, 2500)
      peer.renewRequired(2500)
      // Any renew before the deadline answers renew_required (SPEC §9 rule 3); what is graded
      // here is what the client does after the refusal.
      const deadline = peer.acceptedAt + 2500
      const first = await expectRenew(run, peer, 1, Math.max(0, deadline - 100 - run.timeline.now()), 'SPEC §9 rule 3: no renew after renew_required')
      peer.authError('subject_mismatch', false, first.json?.id)
      await run.sleep(Math.max(0, deadline - run.timeline.now()))
      run.expect(peer.renews.length === 1, 'SPEC §9 rule 5: renewed again after a refusal with retry: false')
      run.expect(peer.ended === undefined, 'SPEC §9 rule 5: the client closed the connection instead of waiting for its deadline')
      peer.closeWithError('credential_expired')
      await run.until(() => peer.ended !== undefined, PROMPT_MS)
    }
  },
  {
    id: '5.9.1',
    section: '5. Lifecycle (flow 9)',
    title: 'A server-initiated renewed moves the deadline',
    rule: 'authenticated says expiresIn 2000; 300 ms later a renewed without id says expiresIn 60000. For 2600 ms the client sends no renew and does not close, and it still echoes after the first deadline.',
    async run (run) {
      const { peer } = await connect(run, 2000)
      await run.sleep(300)
      peer.renewed(undefined, 60_000)
      await run.sleep(2300)
      run.expect(peer.renews.length === 0, 'SPEC §9 rule 4: renewed on the old deadline after a server-initiated renewed')
      run.expect(peer.ended === undefined, 'SPEC §9 rule 4: closed after a server-initiated renewed')
      await expectEcho(run, peer, 'SPEC §9 rule 4')
      run.expect(peer.messages.every((m) => m.json?.type !== FrameType.Auth), 'SPEC §4: an auth frame on an authenticated connection')
      await complete(run, peer)
    }
  }
]
