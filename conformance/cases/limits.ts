import { ERRORS, closePolicy } from '../../protocol/index.ts'
import type { CaseDefinition, CaseRun, Handshake } from '../server/case-run.ts'
import { complete, connect } from './steps.ts'

const SECTION = '10. Limits'
const REFUSALS = 3
/** Waits within this many ms of each other cannot be told from a fixed delay. */
const JITTER_MS = 10

/** The waits between each refusal and the next handshake, in ms. */
function waits (refusedAt: number[], handshakes: Handshake[]): number[] {
  return refusedAt.map((at, i) => (handshakes[i + 1]?.t ?? Number.NaN) - at)
}

function expectJitter (run: CaseRun, gaps: number[]): void {
  run.expect(Math.max(...gaps) - Math.min(...gaps) >= JITTER_MS, `SPEC §9 rule 7: the waits ${gaps.join(', ')} ms are within ${JITTER_MS} ms of each other: no jitter`)
}

export const limitCases: CaseDefinition[] = [
  {
    id: '10.1',
    section: SECTION,
    title: 'HTTP 429 with Retry-After: waits at least as told, with jitter',
    rule: `The kit refuses ${REFUSALS} handshakes in a row with HTTP 429 handshake_rate_limited and Retry-After: 1. Each next handshake comes at least 1000 ms after the refusal; the waits are not all within ${JITTER_MS} ms of each other. For clients that can read the status of a refused upgrade (feature retry-after).`,
    requires: ['retry-after'],
    async run (run) {
      const refusedAt: number[] = []
      for (let i = 0; i < REFUSALS; i++) {
        const handshake = await run.handshake(i === 0 ? 5000 : 8000)
        if (handshake === undefined) return run.fail(`SPEC §7: no handshake after refusal ${i} (429: policy ${closePolicy(ERRORS.handshake_rate_limited.closeCode)})`)
        handshake.refuse(429, 'handshake_rate_limited', { 'Retry-After': '1' })
        refusedAt.push(run.timeline.now())
      }
      const { peer } = await connect(run, 10_000, { what: 'SPEC §7: no handshake after the last 429', })
      const gaps = waits(refusedAt, run.handshakes)
      run.note(`waits after each 429: ${gaps.join(', ')} ms`)
      run.expect(gaps.every((gap) => gap >= 1000), `SPEC §3 and §9 rule 7: reconnected sooner than Retry-After (1000 ms) said: ${gaps.join(', ')} ms`)
      expectJitter(run, gaps)
      await complete(run, peer)
    }
  },
  {
    id: '10.2',
    section: SECTION,
    title: 'Close 4429: reconnects with backoff and jitter',
    rule: `The kit accepts ${REFUSALS} handshakes in a row and closes each with auth_error too_many_connections and ${ERRORS.too_many_connections.closeCode} (policy ${closePolicy(ERRORS.too_many_connections.closeCode)}). The client reconnects each time; the waits add up to at least 100 ms (no tight loop) and are not all within ${JITTER_MS} ms of each other.`,
    async run (run) {
      const refusedAt: number[] = []
      for (let i = 0; i < REFUSALS; i++) {
        const { peer } = await run.accept(i === 0 ? 'the client did not connect' : `SPEC §7: no reconnection after close 4429 number ${i}`, 8000)
        peer.closeWithError('too_many_connections')
        refusedAt.push(run.timeline.now())
      }
      const { peer } = await connect(run, 10_000, { what: 'SPEC §7: no reconnection after the last 4429' })
      const gaps = waits(refusedAt, run.handshakes)
      run.note(`waits after each 4429: ${gaps.join(', ')} ms`)
      run.expect(gaps.reduce((sum, gap) => sum + gap, 0) >= 100, `SPEC §9 rule 7: reconnected in a tight loop after 4429: waits ${gaps.join(', ')} ms`)
      expectJitter(run, gaps)
      await complete(run, peer)
    }
  }
]
