// The client's pure parts, on their own: backoff, renewal lead, timers, frame detection,
// the browser wake-up hooks and the emitter.
import t from 'tap'
import { backoffDelay, renewalLead } from '../../client/index.ts'
import { Timer } from '../../client/clock.ts'
import { Emitter } from '../../client/emitter.ts'
import { onWake } from '../../client/environment.ts'
import { INVALID_FRAME, readFrame } from '../../client/frames.ts'
import { manualClock } from '../helpers.ts'

const DAY = 24 * 60 * 60 * 1000

t.test('backoff: full jitter under an exponential ceiling, capped', async (t) => {
  const options = { baseDelay: 100, maxDelay: 1000 }
  const nearOne = 1 - Number.EPSILON
  t.same([0, 1, 2, 3, 4, 5, 40, 5000].map((attempt) => backoffDelay(attempt, options, () => nearOne)), [99, 199, 399, 799, 999, 999, 999, 999],
    'the ceiling doubles from baseDelay up to maxDelay and is never reached')
  t.same([0, 1, 2, 3].map((attempt) => backoffDelay(attempt, options, () => 0)), [0, 0, 0, 0], 'full jitter reaches down to 0')
  t.same([0, 1, 2, 3].map((attempt) => backoffDelay(attempt, options, () => 0.5)), [50, 100, 200, 400], 'uniform between the two')
  t.equal(backoffDelay(2, {}, () => 0.5), 1000, 'defaults: base 500 ms')
  t.equal(backoffDelay(30, {}, () => 0.5), 15_000, 'defaults: max 30 s')
})

t.test('renewal lead: max(5 s, 10 % of the lifetime), at most half of it', async (t) => {
  t.equal(renewalLead(300_000), 30_000, '10 % of five minutes')
  t.equal(renewalLead(20_000), 5000, 'at least 5 s')
  t.equal(renewalLead(4000), 2000, 'a 4 s token renews at half-life, not at once')
  t.equal(renewalLead(100_000, { minLead: 1000, leadRatio: 0.25 }), 25_000, 'configurable')
})

t.test('timer: delays past 2^31-1 ms are walked in steps instead of firing at once', async (t) => {
  const time = manualClock()
  const timer = new Timer(time.clock)
  let fired = 0
  timer.start(40 * DAY, () => { fired++ })
  time.tick(30 * DAY)
  t.equal(fired, 0, 'not after 30 days (the platform would have fired a clamped timer after 1 ms)')
  t.ok(timer.pending)
  time.tick(10 * DAY - 1)
  t.equal(fired, 0, 'not one ms early')
  time.tick(1)
  t.equal(fired, 1)
  t.notOk(timer.pending)
  timer.start(10, () => { fired++ })
  timer.start(20, () => { fired += 10 })
  time.tick(15)
  t.equal(fired, 1, 'start replaces the pending call')
  timer.cancel()
  time.tick(100)
  t.equal(fired, 1, 'cancel')
})

t.test('frames: protocol frames are told apart from application messages', async (t) => {
  const authenticated = { type: 'authenticated', connectionId: 'c', subject: 'alice', expiresAt: 1, expiresIn: 1 }
  t.same(readFrame(JSON.stringify(authenticated)), authenticated)
  t.same(readFrame(JSON.stringify({ ...authenticated, added: 'later' })), { ...authenticated, added: 'later' }, 'unknown members are ignored')
  t.equal(readFrame('{"type":"renewed"}'), INVALID_FRAME, 'a reserved type that does not validate is dropped')
  t.equal(readFrame('{"type":"renew","token":"x"}'), INVALID_FRAME, 'a client-to-server type from the server too')
  t.equal(readFrame('{"type":"tick","price":1}'), undefined, 'another type is the application\'s')
  t.equal(readFrame('{"type":"renewed"'), undefined, 'not JSON')
  t.equal(readFrame('"type"'), undefined, 'not an object')
  t.equal(readFrame(new ArrayBuffer(4)), undefined, 'binary')
})

t.test('wake: visible again or back online, in browsers only', async (t) => {
  const window = new EventTarget()
  const document = Object.assign(new EventTarget(), { visibilityState: 'hidden' })
  let wakes = 0
  const stop = onWake(() => { wakes++ }, { addEventListener: window.addEventListener.bind(window), removeEventListener: window.removeEventListener.bind(window), document })
  document.dispatchEvent(new Event('visibilitychange'))
  t.equal(wakes, 0, 'hidden is not a wake-up')
  document.visibilityState = 'visible'
  document.dispatchEvent(new Event('visibilitychange'))
  window.dispatchEvent(new Event('online'))
  t.equal(wakes, 2)
  stop()
  window.dispatchEvent(new Event('online'))
  document.dispatchEvent(new Event('visibilitychange'))
  t.equal(wakes, 2, 'stopped')
  t.doesNotThrow(() => { onWake(() => {}, {})() }, 'no browser globals: nothing to do')
})

t.test('emitter: typed listeners, once, off, and a throwing listener does not stop the others', async (t) => {
  const reported: unknown[] = []
  class Events extends Emitter<{ ping: [n: number] }> {
    fire (n: number): void { this.emit('ping', n) }
    protected override reportListenerError (error: unknown): void { reported.push(error) }
  }
  const events = new Events()
  const seen: string[] = []
  events.on('ping', () => { throw new Error('listener bug') })
  const off = events.on('ping', (n) => { seen.push(`on ${n}`) })
  events.once('ping', (n) => { seen.push(`once ${n}`) })
  events.fire(1)
  off()
  events.fire(2)
  t.same(seen, ['on 1', 'once 1'], 'the listener after the throwing one ran; once and off work')
  t.match(reported, [{ message: 'listener bug' }, { message: 'listener bug' }], 'each throw is reported')
})
