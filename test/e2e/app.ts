import type { FastifyInstance } from 'fastify'
import type { Page } from 'playwright-core'
import type { Test } from 'tap'
import { buildApp } from '../../example-app/app.ts'
import { loadConfig } from '../../example-app/config.ts'
import { freePort } from '../helpers.ts'

/** The example app on its own port, its page's Origin allowed, with short-lived tokens. */
export async function startApp (t: Test, env: Record<string, string> = {}): Promise<{ app: FastifyInstance, origin: string }> {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const app = await buildApp(loadConfig({ PORT: String(port), LOG_LEVEL: 'silent', ACCESS_TOKEN_TTL: '3', RENEW_BEFORE: '2', TICK_INTERVAL: '200', ...env }))
  await app.listen({ host: '127.0.0.1', port })
  t.after(() => app.close())
  return { app, origin }
}

/** Logs in through the page's form and waits until the feed socket is authenticated. */
export async function logIn (page: Page, origin: string, mode: 'token' | 'cookie', username = 'alice'): Promise<string> {
  await page.goto(`${origin}/`)
  await page.fill('#username', username)
  await page.fill('#password', `${username}-password`)
  await page.check(`input[name="mode"][value="${mode}"]`)
  await page.click('#login-form button[type="submit"]')
  await page.waitForSelector('#state[data-state="open"]')
  return (await page.textContent('#socket-id')) as string
}

export async function renewals (page: Page, atLeast: number, timeout = 20_000): Promise<void> {
  await page.waitForFunction((n) => Number(document.getElementById('renewals')?.textContent) >= n, atLeast, { timeout })
}
