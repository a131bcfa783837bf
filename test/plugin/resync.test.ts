import t from 'tap'
import { ERRORS, type ErrorDefinition } from '../../protocol/index.ts'
import { RESYNC_BATCH, RESYNC_FIRST_RETRY_MS, RESYNC_MAX_RETRY_MS, Resync, type Recheckable } from '../../plugin/resync.ts'
import type { RevocationQuery } from '../../plugin/revocation.ts'
import { manualClock, until } from '../helpers.ts'

// The re-check after a lost channel, driven by hand: which answers the store gives, when
// its retries fire (a fake clock), what each pass reports. The plugin wiring and a real
// Redis are tested in test/plugin/crowd-costs.test.ts and test/redis/cluster.test.ts.

class Live implements Recheckable {
  revoked = 0
  constructor (readonly sessionId: string) {}
  revocationQuery (): RevocationQuery { return { subject: 'u', sessionId: this.sessionId } }
  revoke (): boolean { return this.revoked++ === 0 }
}

type Answer = ErrorDefinition | undefined

function harness (answer: (sessionId: string) => Answer | Promise<Answer>, connections: Live[]) {
  const time = manualClock(0)
  const seen = { done: [] as Array<[number, number]>, deferred: [] as Array<[number, number]>, failed: [] as unknown[], checks: 0 }
  const resync = new Resync<Live>({
    connections: () => connections,
    check: (query) => { seen.checks++; return answer(query.sessionId as string) },
    clock: time.clock,
    done: (n, revoked) => { seen.done.push([n, revoked]) },
    deferred: (ms, attempt) => { seen.deferred.push([ms, attempt]) },
    failed: (err) => { seen.failed.push(err) }
  })
  return { resync, seen, time }
}

/** Lets every callback and promise the last tick released run. */
const flush = async (): Promise<void> => { for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve)) }
const idle = async (resync: Resync<Live>, ms = 2000): Promise<void> => { await until(() => !resync.pending, ms) }

t.test('a pass asks about every connection, closes the revoked ones and reports the counts', async (t) => {
  const live = [new Live('a'), new Live('b'), new Live('c')]
  const { resync, seen } = harness((sid) => sid === 'b' ? ERRORS.credential_revoked : undefined, live)
  resync.request()
  await idle(resync)
  t.same(seen.done, [[3, 1]])
  t.same(live.map((c) => c.revoked), [0, 1, 0])
  t.same(seen.deferred, [])
})

t.test('the store unavailable: what it did answer is acted on, and the pass runs again with backoff until one completes', async (t) => {
  let down = true
  const live = [new Live('a'), new Live('b'), new Live('c')]
  // While down, the store answers for a and b but not for c.
  const { resync, seen, time } = harness((sid) => {
    if (sid === 'a') return ERRORS.credential_revoked
    return down && sid === 'c' ? ERRORS.revocation_unavailable : undefined
  }, live)
  resync.request()
  await until(() => seen.deferred.length === 1)
  t.same(seen.deferred[0], [RESYNC_FIRST_RETRY_MS, 1], 'first retry after RESYNC_FIRST_RETRY_MS')
  t.equal(live[0]?.revoked, 1, 'a was closed by the deferred pass itself')
  t.same(seen.done, [], 'the pass is not reported complete')
  t.ok(resync.pending, 'a retry is pending')

  time.tick(RESYNC_FIRST_RETRY_MS - 1)
  await flush()
  t.equal(seen.deferred.length, 1, 'nothing before the delay')
  time.tick(1)
  await until(() => seen.deferred.length === 2)
  t.same(seen.deferred.map(([ms]) => ms), [RESYNC_FIRST_RETRY_MS, 2 * RESYNC_FIRST_RETRY_MS], 'the delay doubles')

  // The delay doubles up to its cap.
  let delay = 2 * RESYNC_FIRST_RETRY_MS
  while (seen.deferred.length < 10) {
    const before = seen.deferred.length
    time.tick(delay)
    await until(() => seen.deferred.length === before + 1)
    delay = (seen.deferred.at(-1) as [number, number])[0]
  }
  t.equal(Math.max(...seen.deferred.map(([ms]) => ms)), RESYNC_MAX_RETRY_MS, `capped at ${RESYNC_MAX_RETRY_MS} ms`)
  t.same(seen.deferred.map(([, attempt]) => attempt), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'attempts counted')

  down = false
  time.tick(RESYNC_MAX_RETRY_MS)
  await idle(resync)
  t.same(seen.done, [[3, 0]], 'complete once the store answers: a was closed already, so this pass closed none')
  t.same(live.slice(1).map((c) => c.revoked), [0, 0], 'b and c never closed')

  // A later failure starts the backoff from the first delay again.
  down = true
  resync.request()
  await until(() => seen.deferred.length === 11)
  t.same(seen.deferred.at(-1), [RESYNC_FIRST_RETRY_MS, 1], 'the backoff restarts after a complete pass')
  resync.stop()
  time.tick(RESYNC_MAX_RETRY_MS)
  await flush()
  t.equal(seen.deferred.length, 11, 'stop() cancels the pending retry')
  t.notOk(resync.pending)
})

t.test('a request during a pass runs one more pass after it; requests while a retry waits join that retry', async (t) => {
  const live = [new Live('a')]
  const gate: { release?: () => void } = {}
  const release = (): void => { const open = gate.release; delete gate.release; open?.() }
  let answers = 0
  let unavailable = false
  const { resync, seen, time } = harness(async () => {
    answers++
    if (unavailable) return ERRORS.revocation_unavailable
    await new Promise<void>((resolve) => { gate.release = resolve })
    return undefined
  }, live)
  resync.request()
  await until(() => gate.release !== undefined)
  resync.request()
  resync.request()
  release()
  await until(() => gate.release !== undefined)
  t.equal(answers, 2, 'a second pass started once the first ended')
  release()
  await idle(resync)
  t.same(seen.done, [[1, 0], [1, 0]], 'two passes for three requests, not three')

  unavailable = true
  resync.request()
  await until(() => seen.deferred.length === 1)
  resync.request()
  resync.request()
  t.equal(answers, 3, 'no pass while the retry waits')
  unavailable = false
  time.tick(RESYNC_FIRST_RETRY_MS)
  await until(() => gate.release !== undefined)
  release()
  await idle(resync)
  t.equal(answers, 4, 'the retry ran one pass for all of them')
})

t.test('a check that throws is reported and retried like an unavailable store', async (t) => {
  let broken = true
  const live = [new Live('a')]
  const { resync, seen, time } = harness(() => {
    if (broken) throw new Error('store bug')
    return ERRORS.credential_revoked
  }, live)
  resync.request()
  await until(() => seen.deferred.length === 1)
  t.match(seen.failed, [{ message: 'store bug' }])
  broken = false
  time.tick(RESYNC_FIRST_RETRY_MS)
  await idle(resync)
  t.same(seen.done, [[1, 1]])
})

t.test('batches of RESYNC_BATCH queries, the loop running between them', async (t) => {
  const n = RESYNC_BATCH * 2 + 1
  const live = Array.from({ length: n }, (_, i) => new Live(`s${i}`))
  let immediates = 0
  let counting = true
  const tick = (): void => { immediates++; if (counting) setImmediate(tick) }
  const checksAt: number[] = []
  const { resync, seen } = harness(() => { checksAt.push(immediates); return undefined }, live)
  setImmediate(tick)
  resync.request()
  await idle(resync)
  counting = false
  t.same(seen.done, [[n, 0]])
  const turns = [...new Set(checksAt)]
  t.equal(turns.length, 3, `three batches in three turns (turns seen: ${turns.join(', ')})`)
  t.equal(checksAt.filter((turn) => turn === turns[0]).length, RESYNC_BATCH, 'the first batch is RESYNC_BATCH')
})
