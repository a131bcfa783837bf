import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { LATENCY_BUCKETS_MS, type HistogramSnapshot, type MetricsSnapshot } from '../plugin/index.ts'

// Metrics are created unregistered (`registers: []`) and added to this app's own registry,
// so that several apps in one process (the tests) do not collide in prom-client's global one.

/**
 * `GET /metrics` in Prometheus' text format: the plugin's counters and histograms
 * (`fastify.wsAuth.metrics()`), read at scrape time, plus Node's process metrics.
 */
export function registerMetrics (app: FastifyInstance): void {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  let snapshot: MetricsSnapshot = app.wsAuth.metrics()

  const byCode = (name: string, help: string, read: (s: MetricsSnapshot) => Partial<Record<string, number>>): void => {
    registry.registerMetric(new Counter({
      name,
      help,
      registers: [],
      labelNames: ['code'],
      collect () {
        this.reset()
        for (const [code, value] of Object.entries(read(snapshot))) this.inc({ code }, value ?? 0)
      }
    }))
  }
  const total = (name: string, help: string, read: (s: MetricsSnapshot) => number): void => {
    registry.registerMetric(new Counter({ name, help, registers: [], collect () { this.reset(); this.inc(read(snapshot)) } }))
  }
  // prom-client histograms cannot be set from a snapshot, so buckets are replayed as
  // observations at each bucket's upper bound (exact bucket counts, approximate sum).
  const histogram = (name: string, help: string, read: (s: MetricsSnapshot) => HistogramSnapshot): void => {
    registry.registerMetric(new Histogram({
      name,
      help,
      registers: [],
      buckets: [...LATENCY_BUCKETS_MS].map((ms) => ms / 1000),
      collect () {
        this.reset()
        const h = read(snapshot)
        h.counts.forEach((count, i) => {
          const seconds = ((LATENCY_BUCKETS_MS[i] ?? h.max) as number) / 1000
          for (let n = 0; n < count; n++) this.observe(seconds)
        })
      }
    }))
  }

  registry.registerMetric(new Gauge({ name: 'ws_auth_connections', help: 'Live authenticated WebSocket connections', registers: [], collect () { this.set(snapshot.connections) } }))
  total('ws_auth_accepted_total', 'Authenticated handshakes', (s) => s.accepted)
  byCode('ws_auth_refused_total', 'Refused handshakes by error code', (s) => s.refused)
  total('ws_auth_renewed_total', 'Accepted renewals', (s) => s.renewed)
  byCode('ws_auth_renewal_refused_total', 'Refused renewals by error code', (s) => s.renewalRefused)
  total('ws_auth_expired_total', 'Connections closed at their credential deadline', (s) => s.expired)
  total('ws_auth_revoked_total', 'Connections closed by a revocation', (s) => s.revoked)
  byCode('ws_auth_rate_limited_total', 'Refusals and closes caused by a limit, by error code', (s) => s.rateLimited)
  histogram('ws_auth_renewal_latency_seconds', 'From receiving renew to sending renewed', (s) => s.renewalLatencyMs)
  histogram('ws_auth_expiry_lateness_seconds', 'How long after its deadline an expired connection was closed', (s) => s.expiryLatenessMs)

  app.get('/metrics', async (_request, reply) => {
    snapshot = app.wsAuth.metrics()
    return reply.type(registry.contentType).send(await registry.metrics())
  })
}
