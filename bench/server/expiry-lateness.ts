import { subscribe } from 'node:diagnostics_channel'
import { createHistogram, recordMs, summarize, type LatencySummary } from '../shared/histogram.ts'

// The plugin's public diagnostics channel for expiries (plugin/metrics.ts, README "Metrics").
const EXPIRED_CHANNEL = 'fastify-ws-auth:expired'

/**
 * The server's own view of expiry lateness: how long after its deadline the plugin decided
 * to close each expired connection (`lateMs` of the `expired` event), as opposed to the
 * generator's view, which adds the close frame's way out and the generator's own turn. The
 * two together say whose time a late close is.
 */
export class ExpiryLateness {
  #histogram = createHistogram()

  constructor () {
    subscribe(EXPIRED_CHANNEL, (message) => {
      const lateMs = (message as { lateMs?: unknown }).lateMs
      if (typeof lateMs === 'number') recordMs(this.#histogram, Math.max(0, lateMs))
    })
  }

  /** What was recorded since the last call, and a fresh start. */
  take (): LatencySummary | null {
    const summary = summarize(this.#histogram) ?? null
    this.#histogram = createHistogram()
    return summary
  }
}
