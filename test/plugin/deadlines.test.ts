import fc from 'fast-check'
import t from 'tap'
import { MAX_TIMER_DELAY_MS } from '../../plugin/clock.ts'
import { DeadlineQueue, kDue, kDueAt, kQueueIndex, type Scheduled } from '../../plugin/deadlines.ts'
import { manualClock } from '../helpers.ts'

class Entry implements Scheduled {
  [kDueAt] = Number.POSITIVE_INFINITY;
  [kQueueIndex] = -1
  readonly fired: number[] = []
  constructor (readonly name: number) {}
  [kDue] (now: number): void { this.fired.push(now) }
}

t.test('each entry fires once at its time, never before, in time order', async (t) => {
  const { clock, tick, now } = manualClock(1_000_000)
  const queue = new DeadlineQueue(clock)
  const order: number[] = []
  const entries = [500, 100, 300, 100, 0].map((offset, i) => {
    const entry = new Entry(i)
    const due = entry[kDue].bind(entry)
    entry[kDue] = (at: number) => { order.push(i); due(at) }
    queue.schedule(entry, now() + offset)
    return entry
  })
  t.equal(queue.size, 5)
  tick(0)
  t.same(order, [4], 'a time already reached fires on the next turn')
  tick(99)
  t.same(order, [4])
  tick(1)
  t.same(order.slice(1).sort(), [1, 3])
  tick(400)
  t.same(order.slice(3), [2, 0])
  t.same(entries.map((e) => e.fired.length), [1, 1, 1, 1, 1])
  t.equal(queue.size, 0)
  t.same(entries.map((e) => e[kQueueIndex]), [-1, -1, -1, -1, -1], 'fired entries left the queue')
})

t.test('reschedule and cancel', async (t) => {
  const { clock, tick, now } = manualClock(0)
  const queue = new DeadlineQueue(clock)
  const [a, b, c] = [new Entry(0), new Entry(1), new Entry(2)]
  queue.schedule(a, now() + 100)
  queue.schedule(b, now() + 200)
  queue.schedule(c, now() + 300)
  queue.schedule(c, now() + 50)
  queue.schedule(a, now() + 250)
  queue.cancel(b)
  queue.cancel(b)
  tick(50)
  t.same(c.fired, [50], 'moved earlier')
  tick(200)
  t.same(a.fired, [250], 'moved later')
  t.same(b.fired, [], 'cancelled')
  queue.schedule(b, now() + 10)
  tick(10)
  t.same(b.fired, [260], 'queued again after a cancel')
})

t.test('times beyond what timers honour are walked in steps', async (t) => {
  const { clock, tick, now } = manualClock(0)
  const queue = new DeadlineQueue(clock)
  const entry = new Entry(0)
  const at = now() + 3 * MAX_TIMER_DELAY_MS + 5
  queue.schedule(entry, at)
  tick(MAX_TIMER_DELAY_MS)
  tick(MAX_TIMER_DELAY_MS)
  tick(MAX_TIMER_DELAY_MS)
  t.same(entry.fired, [], 'not early')
  tick(5)
  t.same(entry.fired, [at])
})

t.test('stop: nothing fires afterwards', async (t) => {
  const { clock, tick, now } = manualClock(0)
  const queue = new DeadlineQueue(clock)
  const entry = new Entry(0)
  queue.schedule(entry, now() + 10)
  queue.stop()
  tick(100)
  t.same(entry.fired, [])
})

t.test('against a model: random schedules, reschedules, cancels and clock steps', async (t) => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('schedule' as const), entry: fc.nat(15), delay: fc.integer({ min: -50, max: 5000 }) }),
    fc.record({ kind: fc.constant('cancel' as const), entry: fc.nat(15) }),
    fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3000 }) })
  )
  fc.assert(fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
    const { clock, tick, now } = manualClock(10_000)
    const queue = new DeadlineQueue(clock)
    const entries = Array.from({ length: 16 }, (_, i) => new Entry(i))
    const model = new Map<number, number>() // entry → due time
    const expected: Array<[number, number]> = []
    const fired: Array<[number, number]> = []
    for (const e of entries) {
      const due = e[kDue].bind(e)
      e[kDue] = (at: number) => { fired.push([e.name, at]); due(at) }
    }
    for (const o of ops) {
      if (o.kind === 'schedule') {
        model.set(o.entry, now() + o.delay)
        queue.schedule(entries[o.entry] as Entry, now() + o.delay)
      } else if (o.kind === 'cancel') {
        model.delete(o.entry)
        queue.cancel(entries[o.entry] as Entry)
      } else {
        const until = now() + o.ms
        // The model fires every due entry once the clock has reached its time (a time in
        // the past fires on the next turn: at the current time, or later).
        tick(o.ms)
        for (const [entry, at] of [...model].sort((x, y) => x[1] - y[1])) {
          if (at <= until) {
            expected.push([entry, at])
            model.delete(entry)
          }
        }
      }
      if (queue.size !== model.size) return false
    }
    if (fired.length !== expected.length) return false
    const firedNames = fired.map(([name]) => name).sort((x, y) => x - y)
    const expectedNames = expected.map(([name]) => name).sort((x, y) => x - y)
    // Never early: each entry fired at or after its time.
    return JSON.stringify(firedNames) === JSON.stringify(expectedNames) &&
      fired.every(([name, firedAt]) => firedAt >= (expected.find(([n]) => n === name) as [number, number])[1])
  }), { seed: 20261125, numRuns: 300 })
  t.pass('matches the model for 300 random runs')
})
