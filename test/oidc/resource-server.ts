import type { Test } from 'tap'
import { manualClock, startServer, type ServerSetup } from '../helpers.ts'

/**
 * A plugin server for the issuer suites, on a manual clock so that JWKS refetch intervals,
 * cache TTLs and token deadlines are crossed on demand; renewals are not rate limited, since
 * the suites renew back to back. `setup.plugin` may override either.
 */
export async function clockedServer (t: Test, setup: ServerSetup) {
  const time = manualClock()
  const server = await startServer(t, { ...setup, plugin: { clock: time.clock, renewalLimit: false, ...setup.plugin } })
  return { ...server, ...time }
}
