import type { Test } from 'tap'
import { manualClock, startServer, type ServerSetup } from '../helpers.ts'

/**
 * A plugin server for the issuer suites, on a manual clock so that JWKS refetch intervals,
 * cache TTLs and token deadlines are crossed on demand; renewals are not rate limited, since
 * the suites renew back to back; refusals by HTTP status, whose bodies the suites read (a
 * protocol client is refused by close under the default 'auto', SPEC.md section 3.1).
 * `setup.plugin` may override any of these.
 */
export async function clockedServer (t: Test, setup: ServerSetup) {
  const time = manualClock()
  const server = await startServer(t, { ...setup, plugin: { clock: time.clock, renewalLimit: false, refusal: 'status', ...setup.plugin } })
  return { ...server, ...time }
}
