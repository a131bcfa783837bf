// Regenerates docs/example-page.png from a real run: the example app with 6 s tokens, alice
// logged in through the page in Chromium, subscribed to premium, after a few renewals.
//   node --import tsx test/e2e/screenshot.ts [out.png]
// ACCESS_TOKEN_TTL, RENEW_BEFORE and RENEWALS in the environment change the run.
import { fileURLToPath } from 'node:url'
import { buildApp } from '../../example-app/app.ts'
import { loadConfig } from '../../example-app/config.ts'
import { freePort } from '../helpers.ts'
import { launch } from './browser.ts'

const out = process.argv[2] ?? fileURLToPath(new URL('../../docs/example-page.png', import.meta.url))
const port = await freePort()
const origin = `http://127.0.0.1:${port}`
const app = await buildApp(loadConfig({
  PORT: String(port),
  LOG_LEVEL: 'silent',
  ACCESS_TOKEN_TTL: process.env.ACCESS_TOKEN_TTL ?? '6',
  RENEW_BEFORE: process.env.RENEW_BEFORE ?? '4'
}))
await app.listen({ host: '127.0.0.1', port })
const browser = await launch()
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 860 } })
  await page.goto(`${origin}/`)
  await page.click('#login-form button[type="submit"]')
  await page.waitForSelector('#state[data-state="open"]')
  await page.click('#subscribe-premium')
  const renewals = Number(process.env.RENEWALS ?? 4)
  await page.waitForFunction((n) => Number(document.getElementById('renewals')?.textContent) >= n, renewals, { timeout: 120_000 })
  // Half-way to the next renewal, so that the marks are not at the right edge.
  await page.waitForTimeout(800)
  await page.screenshot({ path: out, fullPage: true })
  console.log(`wrote ${out}`)
} finally {
  await browser.close()
  await app.close()
}
