import { once } from 'node:events'
import { createServer } from 'node:http'
import t from 'tap'
import { browserSkip, launch } from './browser.ts'
import { freePort } from '../helpers.ts'
import { logIn, renewals, startApp } from './app.ts'

t.test('the page in cookie mode, in a real Chromium', { skip: browserSkip }, async (t) => {
  const browser = await launch()
  t.after(() => browser.close())

  t.test('the token never reaches page JavaScript, and the socket survives three server-side renewals', async (t) => {
    const { app, origin } = await startApp(t)
    const context = await browser.newContext()
    const page = await context.newPage()
    const bodies: string[] = []
    page.on('response', (response) => {
      if (response.url().includes('/auth/')) response.text().then((text) => { bodies.push(text) }, () => {})
    })
    const socketId = await logIn(page, origin, 'cookie')
    await renewals(page, 3)
    t.equal(await page.textContent('#socket-id'), socketId, 'the same socket')
    t.equal(app.wsAuth.metrics().accepted, 1, 'one handshake in all')
    const cookies = await context.cookies()
    const access = cookies.find((cookie) => cookie.name === 'access_token')
    t.match(access, { httpOnly: true, sameSite: 'Strict', path: '/feed' }, 'the access token is an HttpOnly cookie')
    t.notMatch(await page.evaluate(() => document.cookie), /access_token|refresh_token/, 'document.cookie cannot see either token')
    t.ok(bodies.length >= 4, `${bodies.length} auth responses seen`)
    t.notOk(bodies.some((body) => body.includes('accessToken') || body.includes('eyJ')), 'no auth response carried a token to the page')

    await page.click('#logout')
    await page.waitForSelector('#state[data-state="closed"]')
    t.match(await page.textContent('#error'), /revoked \(4441 credential_revoked\)/)
    await context.close()
  })

  t.test('a page on another origin cannot open a cookie-authenticated connection', async (t) => {
    const { app, origin } = await startApp(t)
    const context = await browser.newContext()
    const page = await context.newPage()
    await logIn(page, origin, 'cookie')
    // Same host, another port: the browser still attaches the SameSite=Strict cookie
    // (same site), so only the plugin's Origin check stands in the way.
    const evilPort = await freePort()
    const evil = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html')
      response.end(`<!doctype html><script>
        const ws = new WebSocket('${origin.replace('http', 'ws')}/feed')
        ws.onmessage = (event) => { document.title = 'got: ' + event.data }
        ws.onclose = (event) => { document.title = 'closed ' + event.code }
      </script>`)
    }).listen(evilPort, '127.0.0.1')
    await once(evil, 'listening')
    t.after(() => { evil.close() })
    const attacker = await context.newPage()
    const before = app.wsAuth.metrics().refused.origin_not_allowed ?? 0
    await attacker.goto(`http://127.0.0.1:${evilPort}/`)
    await attacker.waitForFunction(() => document.title.startsWith('closed') || document.title.startsWith('got'))
    t.equal(await attacker.title(), 'closed 1006', 'refused before the upgrade (the browser only sees 1006)')
    t.equal(app.wsAuth.metrics().refused.origin_not_allowed, before + 1, 'refused by the Origin check')
    t.equal(app.wsAuth.size, 1, 'only the legitimate page is connected')
    await context.close()
  })
})
