import autocannon from 'autocannon'
import type { HttpJob, Measurement } from '../../shared/protocol.ts'
import { MeasureWindow } from '../window.ts'

const LOGIN = JSON.stringify({ username: 'alice', password: 'alice-password' })

/** 10.x.y.z addresses, one per request: each looks like its own client to the rate limiter. */
function addresses (): () => string {
  let n = 0
  return () => {
    n = (n + 1) % 16_777_216
    return `10.${n >> 16}.${(n >> 8) & 255}.${n & 255}`
  }
}

async function login (port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.1' },
    body: LOGIN
  })
  if (response.status !== 200) throw new Error(`login answered ${response.status}`)
  return ((await response.json()) as { accessToken: string }).accessToken
}

/**
 * An HTTP endpoint of the example app under autocannon (which cannot drive WebSocket
 * handshakes, but is the right tool for plain requests). Latency percentiles are
 * autocannon's, in ms; every status is counted, so a run of 429s is visible as such.
 */
export async function runHttp (job: HttpJob): Promise<Measurement> {
  const headers: Record<string, string> = {}
  if (job.body !== undefined) headers['content-type'] = 'application/json'
  if (job.bearer === true) headers.authorization = `Bearer ${await login(job.port)}`
  const next = addresses()
  const window = await MeasureWindow.open(job.controlPort)
  const result = await autocannon({
    url: `http://127.0.0.1:${job.port}`,
    connections: job.connections,
    duration: job.durationMs / 1000,
    requests: [{
      method: job.method,
      path: job.path,
      headers,
      body: job.body,
      ...(job.distinctAddresses ? { setupRequest: (request) => ({ ...request, headers: { ...request.headers, 'x-forwarded-for': next() } }) } : {})
    }]
  })
  const totals = await window.close()
  const extra: Record<string, number> = {
    latencyP50Ms: result.latency.p50,
    latencyP90Ms: result.latency.p90,
    latencyP99Ms: result.latency.p99,
    latencyMaxMs: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts
  }
  for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) extra[`status${status}`] = (stats as { count: number }).count
  const ops = result.requests.total
  return {
    ops,
    ...totals,
    // autocannon measures its own duration; use it for the rate, the window for CPU.
    durationMs: result.duration * 1000,
    errors: result.errors + result.timeouts,
    errorSamples: [],
    extra
  }
}

export { LOGIN }
