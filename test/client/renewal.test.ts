// Renewal on the open connection: on renew_required, on the client's own timer, as a
// single flight, retried when the server says it may succeed, and after a page wakes up.
// Expiry is driven by the plugin's `clock` option (manualClock); when the client's own
// timers matter, the client runs on the same manual clock.
import t, { type Test } from 'tap'
import { RenewalError, type WsAuthClient } from '../../client/index.ts'
import type { ServerSetup } from '../helpers.ts'
import { manualClock, sign } from '../helpers.ts'
import { S, deferred, echoServer, makeClient, next, nextWhere, tokenSource } from './setup.ts'

const DAY = 24 * 60 * 60 * S

/** An echo server on a manual clock, and tokens whose lifetime runs on that clock. */
async function clockedServer (t: Test, plugin: ServerSetup['plugin'] = {}) {
  const time = manualClock()
  const server = await echoServer(t, { plugin: { clock: time.clock, renewBefore: 40 * S, ...plugin } })
  const expIn = (lifetimeMs: number): { exp: number } => ({ exp: (time.now() + lifetimeMs) / 1000 })
  return { ...server, ...time, T0: time.now(), expIn }
}

/** Round trip through the echo handler: everything the server sent before has arrived. */
async function sync (c: WsAuthClient, tag: string): Promise<void> {
  const echoed = nextWhere(c, 'message', (data) => data === `echo:${tag}`)
  c.send(tag)
  await echoed
}

t.test('renews on renew_required, on the same connection', async (t) => {
  const s = await clockedServer(t)
  const tokens = tokenSource(() => s.expIn(100 * S))
  const c = makeClient(t, { url: s.url, getToken: tokens.getToken })
  c.connect()
  const [authenticated] = await next(c, 'authenticated')
  t.equal(authenticated.expiresIn, 100 * S)
  const required = next(c, 'renew_required')
  const renewed = next(c, 'renewed')
  s.tick(60 * S)
  t.same((await required)[0], { type: 'renew_required', expiresAt: s.T0 + 100 * S, expiresIn: 40 * S })
  const [frame] = await renewed
  t.same(frame, { type: 'renewed', id: 'r1', expiresAt: s.T0 + 160 * S, expiresIn: 100 * S }, 'answered by id, with the new deadline')
  t.equal(tokens.calls, 2, 'one token for the connection, one for the renewal')
  t.equal(c.identity?.connectionId, authenticated.connectionId, 'no reconnection')
  t.equal(s.app.wsAuth.metrics().accepted, 1)
})

t.test('single flight: concurrent triggers share one getToken() call and one renew', async (t) => {
  const s = await clockedServer(t)
  const gate = deferred()
  let calls = 0
  const c = makeClient(t, {
    url: s.url,
    getToken: async () => {
      if (++calls > 1) await gate.promise
      return sign({ ...s.expIn(100 * S) })
    }
  })
  let renewedFrames = 0
  c.on('renewed', () => { renewedFrames++ })
  c.connect()
  await next(c, 'authenticated')
  s.tick(60 * S)
  await next(c, 'renew_required')
  t.equal(calls, 2, 'renew_required started a renewal, waiting for its token')
  const first = c.renewNow()
  const second = c.renewNow()
  t.equal(first, second, 'renewNow() joins the flight under way')
  t.equal(calls, 2, 'no second token request')
  gate.resolve()
  await Promise.all([first, second])
  t.equal(renewedFrames, 1)
  t.equal(s.app.wsAuth.metrics().renewed, 1, 'the server received one renew')
  await c.renewNow()
  t.equal(calls, 3, 'a renewal after the flight landed is a new flight')
})

t.test('the fallback timer renews from expiresIn when renew_required does not come first', async (t) => {
  // renewBefore 0: the server asks only at the deadline itself, too late to help.
  const s = await clockedServer(t, { renewBefore: 0 })
  const tokens = tokenSource(() => s.expIn(100 * S))
  const c = makeClient(t, { url: s.url, getToken: tokens.getToken, clock: s.clock })
  let required = 0
  c.on('renew_required', () => { required++ })
  c.connect()
  await next(c, 'authenticated')
  t.equal(c.renewsAt, s.T0 + 90 * S, 'deadline - max(5 s, 10 % of 100 s)')
  s.tick(90 * S - 1)
  await sync(c, 'a')
  t.equal(tokens.calls, 1, 'not one ms early')
  const renewed = next(c, 'renewed')
  s.tick(1)
  const [frame] = await renewed
  t.equal(frame.expiresIn, 100 * S)
  t.equal(tokens.calls, 2)
  t.equal(required, 0, 'the server never asked')
  t.equal(c.renewsAt, s.T0 + 180 * S, 'the next renewal is scheduled from the new expiresIn')
})

t.test('a deadline weeks away is neither renewed at once nor missed', async (t) => {
  const s = await clockedServer(t)
  const tokens = tokenSource(() => s.expIn(40 * DAY))
  const c = makeClient(t, { url: s.url, getToken: tokens.getToken, clock: s.clock })
  c.connect()
  await next(c, 'authenticated')
  s.tick(30 * DAY)
  await sync(c, 'a')
  t.equal(tokens.calls, 1, 'a 36-day timer does not fire after the 1 ms platforms clamp it to')
  const renewed = next(c, 'renewed')
  s.tick(6 * DAY)
  await renewed
  t.equal(tokens.calls, 2, 'renewed 10 % (4 days) before the deadline')
})

t.test('a renewal refused with retry: true is tried again with backoff, a bounded number of times', async (t) => {
  const s = await echoServer(t, { plugin: { maxRenewalFailures: 10 } })
  let calls = 0
  let bad = 1
  const c = makeClient(t, {
    url: s.url,
    getToken: async () => ++calls > 1 && bad-- > 0 ? sign({}, { key: 'another-key-that-is-at-least-32-bytes!!' }) : sign(),
    renewal: { baseDelay: 40, maxDelay: 40 },
    random: () => 0.5
  })
  const refusals: unknown[] = []
  c.on('auth_error', (frame) => { refusals.push(frame) })
  c.connect()
  await next(c, 'authenticated')
  const renewed = next(c, 'renewed')
  await c.renewNow()
  t.match(refusals, [{ code: 'token_signature_invalid', closing: false, retry: true, id: 'r1' }])
  t.equal((await renewed)[0].id, 'r2', 'the second try, with a new token, succeeded')
  t.equal(calls, 3)

  bad = Number.POSITIVE_INFINITY
  const errors: Error[] = []
  c.on('error', (error) => { errors.push(error) })
  await t.rejects(c.renewNow(), { name: 'RenewalError', code: 'token_signature_invalid', retry: true })
  t.equal(calls, 6, 'one try and two retries (renewal.retries = 2)')
  t.equal(refusals.length, 4)
  t.equal(errors.length, 1, 'reported once on error')
  t.ok(errors[0] instanceof RenewalError)
  t.equal(c.state, 'open', 'the connection stays open on its current token')
})

t.test('a renewal refused with retry: false is not retried, nor renewed again automatically', async (t) => {
  const s = await clockedServer(t)
  let calls = 0
  let subject = 'mallory'
  const c = makeClient(t, { url: s.url, getToken: async () => sign({ sub: ++calls === 1 ? 'alice' : subject, ...s.expIn(100 * S) }) })
  const errors: Error[] = []
  c.on('error', (error) => { errors.push(error) })
  c.connect()
  await next(c, 'authenticated')
  await t.rejects(c.renewNow(), { name: 'RenewalError', code: 'subject_mismatch', retry: false })
  t.equal(calls, 2, 'not retried')
  t.match(errors, [{ code: 'subject_mismatch' }])
  s.tick(60 * S)
  await next(c, 'renew_required')
  await sync(c, 'a')
  t.equal(calls, 2, 'renew_required does not start another renewal after a final refusal')
  subject = 'alice'
  await c.renewNow()
  t.equal(calls, 3, 'renewNow() still can')
})

t.test('a page that wakes up after its renewal time renews at once', async (t) => {
  // What a browser offers: `online` on the window, `visibilitychange` on the document.
  const global = globalThis as { addEventListener?: unknown, removeEventListener?: unknown, document?: unknown }
  const window = new EventTarget()
  const document = Object.assign(new EventTarget(), { visibilityState: 'visible' })
  const listening = new Set<string>()
  global.addEventListener = (type: string, listener: () => void) => { listening.add(type); window.addEventListener(type, listener) }
  global.removeEventListener = (type: string, listener: () => void) => { listening.delete(type); window.removeEventListener(type, listener) }
  global.document = document
  t.after(() => {
    delete global.addEventListener
    delete global.removeEventListener
    delete global.document
  })

  const s = await clockedServer(t)
  const tokens = tokenSource(() => s.expIn(100 * S))
  const c = makeClient(t, { url: s.url, getToken: tokens.getToken, clock: s.clock })
  c.connect()
  await next(c, 'authenticated')
  window.dispatchEvent(new Event('online'))
  await sync(c, 'a')
  t.equal(tokens.calls, 1, 'nothing to do well before the renewal time')

  // Suspended: the clock moves on, timers do not fire.
  s.setTime(s.T0 + 95 * S)
  document.visibilityState = 'hidden'
  document.dispatchEvent(new Event('visibilitychange'))
  await sync(c, 'b')
  t.equal(tokens.calls, 1, 'still hidden')
  const renewed = next(c, 'renewed')
  document.visibilityState = 'visible'
  document.dispatchEvent(new Event('visibilitychange'))
  const [frame] = await renewed
  t.equal(frame.expiresAt, s.T0 + 195 * S)
  t.equal(tokens.calls, 2)
  t.same([...listening], ['online'])
  c.close()
  t.same([...listening], [], 'close() stops listening')
})
