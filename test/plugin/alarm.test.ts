import t from 'tap'
import { Alarm, MAX_TIMER_DELAY_MS } from '../../plugin/clock.ts'
import { manualClock } from '../helpers.ts'

t.test('fires at its time, not before', async (t) => {
  const { clock, tick, now } = manualClock(1_000_000)
  const alarm = new Alarm(clock)
  let fired = 0
  alarm.set(now() + 500, () => { fired++ })
  tick(499)
  t.equal(fired, 0)
  t.ok(alarm.pending)
  tick(1)
  t.equal(fired, 1)
  t.notOk(alarm.pending)
})

t.test('a time in the past fires on the next turn', async (t) => {
  const { clock, tick, now } = manualClock()
  const alarm = new Alarm(clock)
  let fired = false
  alarm.set(now() - 10_000, () => { fired = true })
  t.notOk(fired, 'not synchronously')
  tick(0)
  t.ok(fired)
})

t.test('set replaces, cancel cancels', async (t) => {
  const { clock, tick, now } = manualClock()
  const alarm = new Alarm(clock)
  const calls: string[] = []
  alarm.set(now() + 100, () => calls.push('first'))
  alarm.set(now() + 200, () => calls.push('second'))
  tick(150)
  t.same(calls, [])
  tick(50)
  t.same(calls, ['second'])
  alarm.set(now() + 10, () => calls.push('third'))
  alarm.cancel()
  tick(100)
  t.same(calls, ['second'])
})

t.test('delays beyond setTimeout\'s 24.8-day limit do not fire early', async (t) => {
  const { clock, tick, now } = manualClock()
  const requested: number[] = []
  const spying = { ...clock, setTimeout: (fn: () => void, ms: number) => { requested.push(ms); return clock.setTimeout(fn, ms) } }
  const alarm = new Alarm(spying)
  const ninetyDays = 90 * 24 * 3600 * 1000
  let fired = false
  alarm.set(now() + ninetyDays, () => { fired = true })
  t.ok(requested.every((ms) => ms <= MAX_TIMER_DELAY_MS), 'never asks for a delay Node would clamp')
  tick(ninetyDays - 1)
  t.notOk(fired, 'not fired one ms early')
  tick(1)
  t.ok(fired, 'fired at 90 days')
  t.ok(requested.length >= 4, `walked in steps (${requested.length})`)
})
