import { FrameType, SUBPROTOCOL } from '../../protocol/index.ts'
import type { CaseRun, Handshake, Peer } from '../server/case-run.ts'

/** How long the kit gives a client for a step it should take at once (answer, echo, first frame). */
export const PROMPT_MS = 2000

/**
 * Accepts the client's next handshake and checks its credential: a `wsauth.bearer.` entry
 * with a token the kit issued for this case, or else an `auth` frame carrying one as the
 * first message. Then sends `authenticated` with `expiresIn`.
 */
export async function connect (run: CaseRun, expiresIn: number, options: { skewMs?: number, what?: string } = {}): Promise<{ handshake: Handshake, peer: Peer, token: string }> {
  const { handshake, peer } = await run.accept(options.what)
  const token = await credentialOf(run, handshake, peer)
  peer.authenticated(expiresIn, options.skewMs)
  return { handshake, peer, token }
}

async function credentialOf (run: CaseRun, handshake: Handshake, peer: Peer): Promise<string> {
  const bearer = handshake.token
  if (bearer !== undefined) {
    run.expect(handshake.offered.includes(SUBPROTOCOL), `SPEC §2.1: a wsauth.bearer. entry without ${SUBPROTOCOL}`)
    if (run.issuedToken(bearer) === undefined) run.fail('SPEC §2.1: the bearer entry carries a token the kit did not issue for this case')
    return bearer
  }
  // No bearer entry: the auth-frame transport, whose first message must be the auth frame.
  await run.until(() => peer.messages.length > 0 || peer.ended !== undefined, PROMPT_MS)
  const first = peer.messages[0]
  if (first?.json?.type !== FrameType.Auth) run.fail(`SPEC §2: no credential: neither a wsauth.bearer. entry nor an auth frame as the first message within ${PROMPT_MS} ms`)
  const token = first.json.token
  if (typeof token !== 'string' || run.issuedToken(token) === undefined) run.fail('SPEC §2.3: the auth frame carries a token the kit did not issue for this case')
  return token
}

let probes = 0

/** Sends an application message the client must echo back unchanged (the adapter's one duty). */
export function probe (peer: Peer): string {
  const text = JSON.stringify({ type: 'conformance.echo', n: ++probes })
  peer.send(text)
  return text
}

/** Whether `text` came back from the client as a text message. */
export function echoed (peer: Peer, text: string): boolean {
  return peer.messages.some((m) => !m.binary && m.data.toString() === text)
}

/** Sends a probe and fails the case unless it comes back. */
export async function expectEcho (run: CaseRun, peer: Peer, why: string): Promise<void> {
  const text = probe(peer)
  if (!await run.until(() => echoed(peer, text), PROMPT_MS)) run.fail(`${why}: an application message was not echoed within ${PROMPT_MS} ms`)
}

/** Ends the case's connection the way every case ends: close 1000, which a client never retries. */
export async function complete (run: CaseRun, peer: Peer): Promise<void> {
  peer.close(1000, 'case_complete')
  await run.until(() => peer.ended !== undefined, PROMPT_MS)
}

/** Answers the client's renew frames with `renewed` (same `id`), the new deadline `expiresIn` ahead. */
export function answerRenewals (run: CaseRun, peer: Peer, expiresIn: number, skewMs = 0): { stop: () => void } {
  let answered = 0
  let stopped = false
  const loop = async (): Promise<void> => {
    for (;;) {
      await run.until(() => stopped || peer.renews.length > answered || peer.ended !== undefined, 60_000)
      if (stopped || peer.ended !== undefined) return
      const renew = peer.renews[answered++]
      peer.renewed(renew?.json?.id, expiresIn, skewMs)
    }
  }
  loop().catch(() => {})
  return { stop: () => { stopped = true; run.changed() } }
}

/** The tokens issued after `t` (ms on the case's timeline). */
export function tokensIssuedAfter (run: CaseRun, t: number): number {
  return run.tokens.filter((issued) => issued.issuedAt - run.timeline.start > t).length
}
