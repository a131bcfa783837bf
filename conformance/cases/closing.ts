import { ERRORS, closePolicy, type ErrorCode } from '../../protocol/index.ts'
import type { CaseDefinition } from '../server/case-run.ts'
import { complete, connect, PROMPT_MS, probe, echoed } from './steps.ts'

const SECTION = '7. Close codes'
/** How long the kit watches for a reconnection that must not come. */
const QUIET_MS = 1500

// One representative error per protocol close code whose policy is `stop`; the list of
// cases follows closePolicy(), so a code whose policy changes changes its case.
const STOP_ERRORS: ErrorCode[] = (['frame_invalid', 'forbidden', 'connection_superseded', 'credential_revoked'] as const)
  .filter((code) => closePolicy(ERRORS[code].closeCode) === 'stop')
const STOP_STANDARD = [1000, 1008].filter((code) => closePolicy(code) === 'stop')

function stopCase (id: string, code: number, error: ErrorCode | undefined): CaseDefinition {
  return {
    id,
    section: SECTION,
    title: `After close ${code}${error === undefined ? '' : ` (${error})`}, never reconnects`,
    rule: `The kit closes with ${code}${error === undefined ? '' : ` after auth_error ${error} (closing: true)`}, whose policy is stop: no token request and no handshake follow in the next ${QUIET_MS} ms.`,
    async run (run) {
      const { peer } = await connect(run, 10_000)
      await run.sleep(200)
      if (error === undefined) peer.close(code, 'conformance')
      else peer.closeWithError(error)
      const closedAt = run.timeline.now()
      const tokens = run.tokens.length
      await run.sleep(QUIET_MS)
      run.expect(run.handshakes.length === 1, `SPEC §7 and §9 rule 8: reconnected after ${code} (policy stop)`)
      run.expect(run.tokens.length === tokens, `SPEC §9 rule 8: requested a token after ${code} (policy stop)`)
      run.expect(peer.ended !== undefined && peer.ended.t - closedAt <= 1000, 'SPEC §6 rule 7: the close frame was not answered within 1000 ms')
    }
  }
}

export const closingCases: CaseDefinition[] = [
  {
    id: '7.1',
    section: SECTION,
    title: 'After 4440, fetches a fresh token and reconnects',
    rule: `The kit lets a 600 ms deadline pass without answering renewals and closes with auth_error credential_expired and ${ERRORS.credential_expired.closeCode} (policy ${closePolicy(ERRORS.credential_expired.closeCode)}). Within 3000 ms the client requests a token and connects with a token issued after the close.`,
    async run (run) {
      const { peer } = await connect(run, 600)
      await run.sleep(600)
      peer.closeWithError('credential_expired')
      const closedAt = Date.now()
      const next = await run.handshake(3000)
      if (next === undefined) return run.fail('SPEC §7: no reconnection within 3000 ms of 4440 (policy reauthenticate)')
      const issued = next.token === undefined ? undefined : run.issuedToken(next.token)
      const second = await next.accept()
      // An auth-frame client carries its token in the first message.
      let token = next.token
      if (token === undefined) {
        await run.until(() => second.messages.length > 0, PROMPT_MS)
        token = second.messages[0]?.json?.token as string | undefined
      }
      const fresh = token === undefined ? undefined : issued ?? run.issuedToken(token)
      run.expect(fresh !== undefined && fresh.issuedAt >= closedAt, 'SPEC §7 and §9 rule 7: reconnected after 4440 without a token issued after the close')
      second.authenticated(10_000)
      await complete(run, second)
    }
  },
  {
    id: '7.2',
    section: SECTION,
    title: 'After 1001 (server shutdown), reconnects',
    rule: `The kit closes with 1001 "server_shutdown" (policy ${closePolicy(1001)}, flow 8), without auth_error. The client connects again within 3000 ms and the new connection works.`,
    async run (run) {
      const { peer } = await connect(run, 10_000)
      await run.sleep(200)
      peer.close(1001, 'server_shutdown')
      const { peer: second } = await connect(run, 10_000, { what: 'SPEC §7: no reconnection after 1001 (policy reconnect)' })
      const text = probe(second)
      run.expect(await run.until(() => echoed(second, text), PROMPT_MS), 'SPEC §5 flow 8: the new connection does not echo')
      await complete(run, second)
    }
  },
  ...STOP_ERRORS.map((error, i) => stopCase(`7.${3 + i}`, ERRORS[error].closeCode, error)),
  ...STOP_STANDARD.map((code, i) => stopCase(`7.${3 + STOP_ERRORS.length + i}`, code, undefined))
]
