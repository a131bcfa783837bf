import { BEARER_SUBPROTOCOL_PREFIX, FrameType, SUBPROTOCOL } from '../../protocol/index.ts'
import type { CaseDefinition } from '../server/case-run.ts'
import { complete, connect, expectEcho } from './steps.ts'

const SECTION = '2. Transports'

export const transportCases: CaseDefinition[] = [
  {
    id: '2.1.1',
    section: SECTION,
    title: 'Subprotocol transport',
    rule: `The handshake offers ${SUBPROTOCOL} and exactly one ${BEARER_SUBPROTOCOL_PREFIX}<token> entry carrying a token the kit issued for the case; after authenticated, application messages flow.`,
    transport: 'subprotocol',
    async run (run) {
      const { handshake, peer } = await connect(run, 10_000)
      run.expect(handshake.token !== undefined, `SPEC §2.1: no ${BEARER_SUBPROTOCOL_PREFIX} entry offered`)
      await expectEcho(run, peer, 'SPEC §3.2')
      await complete(run, peer)
    }
  },
  {
    id: '2.3.1',
    section: SECTION,
    title: 'auth-frame transport',
    rule: `The handshake carries no credential (no ${BEARER_SUBPROTOCOL_PREFIX} entry); the first message, sent at once after the upgrade, is an auth frame with a token the kit issued for the case; it is sent once.`,
    transport: 'auth-frame',
    async run (run) {
      const { handshake, peer } = await connect(run, 10_000)
      run.expect(handshake.bearerTokens.length === 0, 'SPEC §2.3: a bearer entry as well as an auth frame')
      await expectEcho(run, peer, 'SPEC §2.3')
      run.expect(peer.messages.filter((m) => m.json?.type === FrameType.Auth).length === 1, 'SPEC §4: more than one auth frame')
      await complete(run, peer)
    }
  },
  {
    id: '2.4.1',
    section: '2.4 Never the URL query',
    title: 'No credential in the URL',
    rule: 'No handshake URL (path or query) carries a token the kit issued. The kit checks this on every handshake of every case; this case checks it alone.',
    async run (run) {
      const { peer } = await connect(run, 10_000)
      await complete(run, peer)
    }
  }
]
