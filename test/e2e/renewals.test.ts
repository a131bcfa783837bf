import t from 'tap'
import { browserSkip, launch } from './browser.ts'
import { logIn, renewals, startApp } from './app.ts'

// Ten renewals of 5 s tokens take about 30 s: more than tap's default per file under load.
t.setTimeout(150_000)

t.test('the page keeps one socket through ten renewals of 5 s tokens with a 2 s lead (issue 14)', { skip: browserSkip }, async (t) => {
  const browser = await launch()
  t.after(() => browser.close())
  const { app, origin } = await startApp(t, { ACCESS_TOKEN_TTL: '5', RENEW_BEFORE: '2' })
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (error) => { errors.push(error.message) })
  const socketId = await logIn(page, origin, 'token')
  // Each renewal is due about 3 s after the one before; 90 s leaves room for a loaded machine.
  await renewals(page, 10, 90_000)
  const metrics = app.wsAuth.metrics()
  t.same(metrics.renewalRefused, {}, 'no renewal refused (the renewal budget must not count renewals the server asked for)')
  t.same(metrics.rateLimited, {}, 'no limit hit')
  t.equal(await page.textContent('#socket-id'), socketId, 'the same socket through all of them')
  t.equal(await page.getAttribute('#state', 'data-state'), 'open')
  t.equal(await page.textContent('#error'), '', 'no error shown')
  t.equal(metrics.accepted, 1, 'one handshake in all')
  t.ok(metrics.renewed >= 10, `${metrics.renewed} renewals on the server`)
  t.same(errors, [], 'no uncaught errors')
})
