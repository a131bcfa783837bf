import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/** Debian's Chromium (`apt-get install chromium`), unless CHROMIUM_PATH says otherwise. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/**
 * Why browser tests cannot run here, or `false` when they can. In CI (CI=true) a missing
 * browser is a failure, never a skip: the test then runs and fails at launch.
 */
export const browserSkip: string | false = existsSync(CHROMIUM) || process.env.CI === 'true'
  ? false
  : `no Chromium at ${CHROMIUM}: install Debian's chromium package (CI installs it and never skips)`

export async function launch (): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    // As root in a container Chromium needs --no-sandbox; the other flags stop it from
    // reaching out to Google's services, which this machine's closed network refuses.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']
  })
}
