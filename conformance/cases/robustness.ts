import type { CaseDefinition } from '../server/case-run.ts'
import { FrameType, SUBPROTOCOL } from '../../protocol/index.ts'
import { complete, connect, expectEcho, PROMPT_MS, probe } from './steps.ts'

// Messages that are not protocol frames: the application must get each, unchanged.
const UNKNOWN_TEXT = [
  '{"type":"conformance.unknown","n":1}',
  'not JSON at all',
  '[1,2,3]',
  '{"type":"Renewed","n":2}',
  '{"n":3,"note":"no type"}',
  '{"type":"auth_errors","n":4}'
]
const UNKNOWN_BINARY = Buffer.from([0x7b, 0x00, 0x01, 0xff])

export const robustnessCases: CaseDefinition[] = [
  {
    id: '4.1',
    section: '4. Frames',
    title: 'Survives unknown application messages',
    rule: 'Text messages with an unknown type, no type, or no JSON at all, and a binary message, are delivered to the application unchanged (each comes back once, binary as binary); the connection stays open and still works.',
    async run (run) {
      const { peer } = await connect(run, 10_000)
      for (const text of UNKNOWN_TEXT) peer.send(text)
      peer.send(UNKNOWN_BINARY)
      const back = (): boolean => UNKNOWN_TEXT.every((text) => peer.messages.some((m) => !m.binary && m.data.toString() === text)) &&
        peer.messages.some((m) => m.binary && m.data.equals(UNKNOWN_BINARY))
      await run.until(back, PROMPT_MS)
      for (const text of UNKNOWN_TEXT) run.expect(peer.messages.some((m) => !m.binary && m.data.toString() === text), `SPEC §4: ${text} did not reach the application (not echoed)`)
      run.expect(peer.messages.some((m) => m.binary && m.data.equals(UNKNOWN_BINARY)), 'SPEC §4: the binary message did not reach the application as binary')
      run.expect(peer.ended === undefined, 'SPEC §4: the client closed after unknown application messages')
      await expectEcho(run, peer, 'SPEC §4')
      await complete(run, peer)
    }
  },
  {
    id: '6.7.1',
    section: '6. Timing rules',
    title: 'Nothing after the close; the close is answered',
    rule: 'After the kit\'s close frame the client sends no message (checked on every connection of every case) and answers with its own close frame within 1000 ms.',
    async run (run) {
      const { peer } = await connect(run, 10_000)
      await expectEcho(run, peer, 'SPEC §3.2')
      await run.sleep(300)
      peer.close(1000, 'case_complete')
      await run.until(() => peer.ended !== undefined, PROMPT_MS)
      run.expect(peer.ended !== undefined && peer.ended.t - (peer.kitClosedAt ?? 0) <= 1000, 'SPEC §6 rule 7: the close frame was not answered within 1000 ms')
      run.expect(peer.ended?.code !== 1006, 'SPEC §6 rule 7: the client dropped the connection without a close frame')
    }
  },
  {
    id: '11.5',
    section: '11. Security requirements for clients',
    title: 'Does not use a connection whose 101 did not select wsauth.v1',
    rule: 'The kit\'s 101 selects no subprotocol (rule 5, and SPEC §2.1: a client SHOULD fail such a connection). On that connection the client sends no message (an application message the kit sends is not echoed) and the connection ends within 1000 ms.',
    selectsNoSubprotocol: true,
    async run (run) {
      const { peer } = await run.accept()
      peer.authenticated(10_000)
      probe(peer)
      await run.until(() => peer.ended !== undefined, 1000)
      run.expect(peer.messages.length === 0, `SPEC §11 rule 5: the client used a connection without ${SUBPROTOCOL} (it sent ${peer.messages.length} messages)`)
      run.expect(peer.ended !== undefined, `SPEC §2.1: the connection without ${SUBPROTOCOL} still open after 1000 ms`)
    }
  },
  {
    id: '13.1',
    section: '13. Versioning',
    title: 'Ignores unknown members of protocol frames',
    rule: 'authenticated and renew_required carry members this version does not define (as a later minor revision may add); the client still renews within 1000 ms of renew_required, and its renew is valid.',
    async run (run) {
      const { peer } = await run.accept()
      const future = { futureMember: { nested: [1, 2] }, 'x-vendor': 'kit' }
      peer.send({ type: FrameType.Authenticated, connectionId: 'kit-13.1', subject: 'conformance', sessionId: 'case-13.1', expiresAt: Date.now() + 3000, expiresIn: 3000, ...future })
      peer.send({ type: FrameType.RenewRequired, expiresAt: Date.now() + 3000, expiresIn: 3000, ...future })
      if (!await run.until(() => peer.renews.length > 0, 1000)) return run.fail('SPEC §13: no renew within 1000 ms of a renew_required with unknown members')
      peer.renewed(peer.renews[0]?.json?.id, 10_000)
      await expectEcho(run, peer, 'SPEC §13')
      await complete(run, peer)
    }
  }
]
