import type { HttpJob, Measurement } from '../shared/protocol.ts'
import { median, round } from '../shared/stats.ts'
import { runRounds, type VariantPlan } from '../orchestrator/rounds.ts'
import { jobTimeout, resultFromRounds, type Scenario } from './scenario.ts'

const LOGIN_BODY = JSON.stringify({ username: 'alice', password: 'alice-password' })

interface HttpVariant extends Omit<VariantPlan, 'visit' | 'target'> {
  request: Pick<HttpJob, 'method' | 'path' | 'body' | 'bearer' | 'distinctAddresses'>
}

const VARIANTS: HttpVariant[] = [
  { id: 'health', label: 'GET /health (the app\'s floor)', request: { method: 'GET', path: '/health', distinctAddresses: false } },
  { id: 'login', label: 'POST /auth/login, one address per request (scrypt)', baseline: 'health', request: { method: 'POST', path: '/auth/login', body: LOGIN_BODY, distinctAddresses: true } },
  { id: 'login-limited', label: 'POST /auth/login from one address (429 after 10 a minute)', baseline: 'health', request: { method: 'POST', path: '/auth/login', body: LOGIN_BODY, distinctAddresses: false } },
  { id: 'token', label: 'POST /auth/token (Bearer), one address per request', baseline: 'health', request: { method: 'POST', path: '/auth/token', bearer: true, distinctAddresses: true } }
]

export const httpScenario: Scenario = {
  id: 'http',
  title: 'example app HTTP endpoints (autocannon)',
  unit: 'requests/s',
  description: 'The example app (example-app/app.ts buildApp + loadConfig) with trustProxy on, so each request can carry its own X-Forwarded-For and the per-address login limit applies only where it is meant to. Every status is counted.',
  async run (context) {
    const started = context.progress.elapsedS
    const server = await context.servers.get('app')
    const { http } = context.mode
    const plans = VARIANTS.map((variant): VariantPlan => ({
      id: variant.id,
      label: variant.label,
      target: 'app',
      baseline: variant.baseline,
      visit: (durationMs) => context.generator.run<Measurement>({
        kind: 'http', port: server.port, controlPort: server.controlPort, connections: http.connections, durationMs, ...variant.request
      } satisfies HttpJob, jobTimeout(durationMs))
    }))
    const samples = await runRounds(plans, { ...context.mode, rounds: http.rounds, warmupMs: Math.min(context.mode.warmupMs, http.visitMs), visitMs: http.visitMs, progress: context.progress, unit: this.unit })
    const result = resultFromRounds(this, plans, samples, http.rounds, started, context.progress, {
      metrics: { connections: http.connections },
      notes: ['Latency percentiles are autocannon\'s (ms, medians over visits). `login` is bound by scrypt (N=2^15) on the server\'s single core.']
    })
    // autocannon reports its own percentiles; the statuses show what the rate is made of.
    for (const variant of result.variants) {
      const visits = (samples.get(variant.id) ?? []).flat()
      const pick = (key: string): number => round(median(visits.map((v) => v.extra[key] ?? Number.NaN)))
      variant.latencyMs = { count: visits.reduce((n, v) => n + v.ops, 0), p50: pick('latencyP50Ms'), p90: pick('latencyP90Ms'), p99: pick('latencyP99Ms'), p999: Number.NaN, max: pick('latencyMaxMs'), mean: Number.NaN }
      const statuses: Record<string, number> = {}
      for (const visit of visits) {
        for (const [key, count] of Object.entries(visit.extra)) if (key.startsWith('status')) statuses[key] = (statuses[key] ?? 0) + count
      }
      variant.metrics = statuses
    }
    return [result]
  }
}
