import t from 'tap'
import { browserSkip, launch } from './browser.ts'
import { logIn, renewals, startApp } from './app.ts'

t.test('the page in subprotocol mode, in a real Chromium', { skip: browserSkip }, async (t) => {
  const browser = await launch()
  t.after(() => browser.close())

  t.test('stays on one socket through three renewals; logout closes it and says why', async (t) => {
    const { app, origin } = await startApp(t)
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => { errors.push(error.message) })
    const socketId = await logIn(page, origin, 'token')
    await renewals(page, 3)
    t.equal(await page.textContent('#socket-id'), socketId, 'the same socket, never reconnected')
    t.equal(await page.getAttribute('#state', 'data-state'), 'open')
    t.ok(app.wsAuth.metrics().renewed >= 3, 'the server renewed it')
    t.equal(app.wsAuth.metrics().accepted, 1, 'one handshake in all')
    t.ok(await page.locator('#feed li').count() > 0, 'feed messages shown')
    t.match(await page.textContent('#identity'), /^alice/)

    await page.click('#logout')
    await page.waitForSelector('#state[data-state="closed"]')
    t.match(await page.textContent('#error'), /revoked \(4441 credential_revoked\)/)
    t.same(errors, [], 'no page errors')
    await page.close()
  })

  t.test('reusing a rotated refresh token closes the whole family', async (t) => {
    const { origin } = await startApp(t, { ACCESS_TOKEN_TTL: '4', RENEW_BEFORE: '3' })
    const context = await browser.newContext()
    const page = await context.newPage()
    await logIn(page, origin, 'token')
    const before = Number(await page.textContent('#renewals'))
    const stolen = (await context.cookies()).find((cookie) => cookie.name === 'refresh_token')?.value as string
    t.ok(stolen !== undefined && stolen.length > 20, 'the refresh cookie, as an attacker who copied it')
    // Two more renewals: at least one refresh completed after the copy, so it is retired.
    await renewals(page, before + 2)
    const reuse = await fetch(`${origin}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `refresh_token=${stolen}` },
      body: '{}'
    })
    t.equal(reuse.status, 401)
    t.match(await reuse.json(), { code: 'refresh_reused' })
    await page.waitForSelector('#state[data-state="closed"]')
    t.match(await page.textContent('#error'), /revoked \(4441 credential_revoked\)/, "the victim's page is told")
    await context.close()
  })
})
