import type { Page } from 'playwright-core'
import t from 'tap'
import { browserSkip, launch } from './browser.ts'
import { logIn, renewals, startApp } from './app.ts'

interface Shape { x: number, at: number }

/** What the timeline draws now: left edges in px, keyed by the time each shape stands for. */
async function timeline (page: Page): Promise<{ width: number, bars: Array<Shape & { width: number }>, renewRequired: Shape[], renewed: Shape[], deadline: Shape[], closes: Array<Shape & { code: number, text: string }>, labels: string[] }> {
  // No named helpers inside: the function runs in the page, where tsx's __name does not exist.
  const drawn = await page.evaluate(() => {
    const svg = document.getElementById('timeline') as unknown as SVGSVGElement
    const found: Record<string, Array<{ x: number, width: number, at: number, code: number, text: string }>> = {}
    for (const [name, selector, time] of [['bars', 'rect.credential', 'data-start'], ['renewRequired', '.renew-required', 'data-at'],
      ['renewed', '.renewed', 'data-at'], ['deadline', '.deadline', 'data-at'], ['closes', '.close', 'data-at']] as const) {
      found[name] = [...svg.querySelectorAll(selector)].map((element) => ({
        x: element.getBoundingClientRect().x,
        width: element.getBoundingClientRect().width,
        at: Number(element.getAttribute(time)),
        code: Number(element.getAttribute('data-code')),
        text: element.querySelector('text')?.textContent ?? ''
      }))
    }
    return { width: svg.getBoundingClientRect().width, found, labels: [...svg.querySelectorAll('.axis text')].map((text) => text.textContent ?? '') }
  })
  const { bars = [], renewRequired = [], renewed = [], deadline = [], closes = [] } = drawn.found
  return { width: drawn.width, bars, renewRequired, renewed, deadline, closes, labels: drawn.labels }
}

/** Submits the login form without waiting for any state: a refused login or socket is the point. */
async function submitLogin (page: Page, username: string, password = `${username}-password`): Promise<void> {
  await page.fill('#username', username)
  await page.fill('#password', password)
  await page.click('#login-form button[type="submit"]')
}

async function errorShown (page: Page, pattern: RegExp): Promise<string> {
  await page.waitForFunction((source) => new RegExp(source).test(document.getElementById('error')?.textContent ?? ''), pattern.source, { timeout: 20_000 })
  return (await page.textContent('#error')) as string
}

// Four browser sessions of a few seconds each: beyond tap's 60 s per file when the machine is loaded.
t.setTimeout(180_000)

t.test('the example page in a real Chromium', { skip: browserSkip }, async (t) => {
  const browser = await launch()
  t.after(() => browser.close())

  t.test("a new session starts clean: carol's refusal shows nothing of alice's session", async (t) => {
    const { origin } = await startApp(t)
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => { errors.push(error.message) })
    await logIn(page, origin, 'token')
    await renewals(page, 1)

    await page.click('#logout')
    await page.waitForSelector('#state[data-state="closed"]')
    t.match(await errorShown(page, /4441/), 'Disconnected: The credential or its session was revoked (4441 credential_revoked)')
    t.ok(await page.isDisabled('#subscribe-premium'), 'a dead connection cannot subscribe')
    t.ok(await page.isDisabled('#logout'), 'nor log out again')
    t.ok(await page.isVisible('#login-panel'), 'the login form is back')
    t.match((await timeline(page)).closes, [{ code: 4441, text: 'closed 4441' }], 'the close is on the timeline')
    // Were the button enabled after all, the client's SendError is shown, not thrown.
    await page.evaluate(() => { (document.getElementById('subscribe-premium') as HTMLButtonElement).disabled = false })
    await page.click('#subscribe-premium')
    t.equal(await errorShown(page, /Cannot send/), 'Cannot send: the client is closed')

    await submitLogin(page, 'carol')
    const refusal = await errorShown(page, /4403/)
    t.equal(refusal, 'Disconnected: The identity is not allowed to use this endpoint (4403 forbidden)', 'the readable reason and the close code')
    t.equal(await page.getAttribute('#state', 'data-state'), 'closed')
    t.equal(await page.textContent('#identity'), '–', "not alice's identity")
    t.equal(await page.textContent('#socket-id'), '–', "not alice's socket")
    t.equal(await page.textContent('#renewals'), '0', "not alice's renewals")
    t.equal(await page.textContent('#countdown'), '–')
    t.equal(await page.locator('#feed li').count(), 0, "not alice's feed")
    const drawn = await timeline(page)
    t.equal(drawn.bars.length, 0, "none of alice's credentials on the timeline")
    t.match(drawn.closes, [{ code: 4403, text: 'closed 4403' }], "only carol's close")
    t.equal(drawn.closes.length, 1)
    t.ok(await page.isDisabled('#subscribe-premium'), 'nothing to subscribe on')
    t.ok(await page.isEnabled('#logout'), "carol's login session can still be ended")
    t.same(errors, [], 'no uncaught errors')
    await page.close()
  })

  t.test('what cannot work is disabled, and every error is shown on the page with its message', async (t) => {
    const { origin } = await startApp(t)
    const context = await browser.newContext()
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => { errors.push(error.message) })
    await page.goto(`${origin}/`)
    t.ok(await page.isDisabled('#subscribe-premium'), 'disabled before any connection')

    await submitLogin(page, 'bob', 'wrong-password')
    await page.waitForFunction(() => document.getElementById('login-error')?.textContent !== '')
    t.equal(await page.textContent('#login-error'), 'Login failed: Unknown user or wrong password. (invalid_credentials)')

    await logIn(page, origin, 'token', 'bob')
    t.equal(await page.textContent('#login-error'), '', 'a successful login clears it')
    t.ok(await page.isEnabled('#subscribe-premium'), 'enabled while open')
    await page.click('#subscribe-premium')
    t.equal(await errorShown(page, /forbidden_topic/), 'The feed refused: topic premium needs the scope market:premium (forbidden_topic)')

    // The refresh cookie gone: the next renewal cannot get a token, the credential expires
    // (4440), and reconnecting cannot get one either.
    await context.clearCookies()
    const lost = await errorShown(page, /token_unavailable/)
    t.match(lost, /^Connection lost: .*No refresh token: log in\. \(invalid_refresh\).* \(1006 token_unavailable\); reconnecting in \d+\.\d s$/,
      "the app's refusal, readable, with the close code")
    t.ok(await page.isDisabled('#subscribe-premium'), 'disabled while reconnecting')
    t.ok((await page.locator('#events li').allTextContents()).some((text) => text.includes('Connection lost: The credential expired without a valid renewal (4440 credential_expired)')),
      'the expiry before it was shown (and logged) the same way')
    t.same(errors, [], 'no uncaught errors')
    await context.close()
  })

  t.test('the timeline: a bar per credential, renew_required and renewed marks, the deadline and the close, scrolling', async (t) => {
    const { origin } = await startApp(t)
    const page = await browser.newPage()
    await logIn(page, origin, 'token')
    await renewals(page, 2)
    const before = await timeline(page)
    t.ok(before.bars.length >= 3, `${before.bars.length} credentials drawn, one per authenticated/renewed`)
    t.ok(before.renewRequired.length >= 2, 'renew_required marks')
    t.ok(before.renewed.length >= 2, 'renewed marks')
    t.equal(before.deadline.length, 1, 'one live deadline')
    t.equal(before.closes.length, 0)
    const [deadline] = before.deadline
    const last = before.bars.at(-1)
    t.ok(deadline !== undefined && last !== undefined && deadline.x > last.x, 'the deadline is ahead of the current credential')

    await page.waitForTimeout(1000)
    const after = await timeline(page)
    const moved = (earlier: Shape[], later: Shape[]): boolean => {
      const pairs = earlier.map((shape) => [shape, later.find((other) => other.at === shape.at)] as const).filter(([, other]) => other !== undefined)
      return pairs.length > 0 && pairs.every(([shape, other]) => (other as Shape).x < shape.x - 20)
    }
    t.ok(moved(before.bars, after.bars), 'bars scroll left as time passes')
    t.ok(moved(before.renewRequired, after.renewRequired), 'renew_required marks scroll with them')
    t.ok(moved(before.renewed, after.renewed), 'renewed marks scroll with them')

    await page.click('#logout')
    await page.waitForSelector('#timeline .close')
    const closed = await timeline(page)
    t.match(closed.closes, [{ code: 4441, text: 'closed 4441' }], 'the close and its code')
    t.equal(closed.deadline.length, 0, 'no live deadline after the close')
    await page.close()
  })

  t.test('the time scale follows the token lifetime: 300 s and 6 s tokens are drawn alike', async (t) => {
    for (const [ttl, lead] of [['300', '60'], ['6', '2']] as const) {
      const { origin } = await startApp(t, { ACCESS_TOKEN_TTL: ttl, RENEW_BEFORE: lead })
      const page = await browser.newPage()
      await logIn(page, origin, 'token')
      const drawn = await timeline(page)
      const bar = drawn.bars[0]
      t.equal(drawn.bars.length, 1, `${ttl} s: one credential`)
      // A lifetime of the window's 2.7: the bar takes about 37 % of the width.
      t.ok(bar !== undefined && bar.width > 0.3 * drawn.width && bar.width < 0.45 * drawn.width, `${ttl} s: the bar is ${Math.round((bar?.width ?? 0) / drawn.width * 100)} % of the width`)
      t.ok(drawn.labels.length >= 4 && drawn.labels.length <= 12, `${ttl} s: ${drawn.labels.length} time labels`)
      t.equal(new Set(drawn.labels).size, drawn.labels.length, `${ttl} s: distinct labels (${drawn.labels.join(', ')})`)
      if (ttl === '300') {
        // Minutes without an auth event: only the page's own clock moves the picture.
        await page.waitForTimeout(1500)
        const later = await timeline(page)
        t.ok(bar !== undefined && (later.bars[0]?.x ?? Infinity) < bar.x - 0.5, `300 s: the bar scrolls with no event (${bar?.x} → ${later.bars[0]?.x} px)`)
      }
      await page.close()
    }
  })
})
