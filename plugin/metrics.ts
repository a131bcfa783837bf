import diagnosticsChannel from 'node:diagnostics_channel'
import type { ErrorCode } from '../protocol/index.ts'

/**
 * `node:diagnostics_channel` names the plugin publishes on. Each message is a plain object
 * without any token: `{ connectionId?, subject?, code?, latencyMs?, lateMs? }`.
 */
export const CHANNELS = Object.freeze({
  accepted: 'fastify-ws-auth:accepted',
  refused: 'fastify-ws-auth:refused',
  renewed: 'fastify-ws-auth:renewed',
  renewalRefused: 'fastify-ws-auth:renewal_refused',
  expired: 'fastify-ws-auth:expired',
  revoked: 'fastify-ws-auth:revoked',
  rateLimited: 'fastify-ws-auth:rate_limited',
  closed: 'fastify-ws-auth:closed'
} as const)

export interface MetricsEvent {
  connectionId?: string
  subject?: string
  code?: ErrorCode
  /** Renewal: from receiving `renew` to sending `renewed`, ms. */
  latencyMs?: number
  /** Expiry: how long after the deadline the connection was closed, ms. */
  lateMs?: number
}

/** Upper bounds (ms) of the histogram buckets; the last bucket is unbounded. */
export const LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000])

export interface HistogramSnapshot {
  /** Upper bounds, as {@link LATENCY_BUCKETS_MS}. */
  buckets: readonly number[]
  /** Observations per bucket (not cumulative); one more entry than `buckets`, for +Inf. */
  counts: number[]
  count: number
  sum: number
  max: number
}

export interface MetricsSnapshot {
  /** Live authenticated connections. */
  connections: number
  accepted: number
  /** Refused handshakes (including auth frames), by error code. */
  refused: Partial<Record<ErrorCode, number>>
  renewed: number
  renewalRefused: Partial<Record<ErrorCode, number>>
  expired: number
  /** Connections closed because their credential was revoked. */
  revoked: number
  /** Refusals and closes caused by a limit, by error code. */
  rateLimited: Partial<Record<ErrorCode, number>>
  renewalLatencyMs: HistogramSnapshot
  /** How long after its deadline an expired connection was closed. */
  expiryLatenessMs: HistogramSnapshot
}

/** A fixed-bucket histogram: constant memory, cheap to observe, maps onto Prometheus. */
class Histogram {
  readonly #counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0)
  #count = 0
  #sum = 0
  #max = 0

  observe (value: number): void {
    let i = 0
    while (i < LATENCY_BUCKETS_MS.length && value > (LATENCY_BUCKETS_MS[i] as number)) i++
    this.#counts[i] = (this.#counts[i] as number) + 1
    this.#count++
    this.#sum += value
    if (value > this.#max) this.#max = value
  }

  snapshot (): HistogramSnapshot {
    return { buckets: LATENCY_BUCKETS_MS, counts: [...this.#counts], count: this.#count, sum: this.#sum, max: this.#max }
  }
}

const LIMIT_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'handshake_rate_limited', 'too_many_connections', 'server_busy', 'message_rate_exceeded', 'renewal_rate_limited', 'send_buffer_overflow'
])

function bump (counts: Partial<Record<ErrorCode, number>>, code: ErrorCode): void {
  counts[code] = (counts[code] ?? 0) + 1
}

const channels = {
  accepted: diagnosticsChannel.channel(CHANNELS.accepted),
  refused: diagnosticsChannel.channel(CHANNELS.refused),
  renewed: diagnosticsChannel.channel(CHANNELS.renewed),
  renewalRefused: diagnosticsChannel.channel(CHANNELS.renewalRefused),
  expired: diagnosticsChannel.channel(CHANNELS.expired),
  revoked: diagnosticsChannel.channel(CHANNELS.revoked),
  rateLimited: diagnosticsChannel.channel(CHANNELS.rateLimited),
  closed: diagnosticsChannel.channel(CHANNELS.closed)
}

/** Counters of one plugin instance, mirrored on diagnostics channels. */
export class WsAuthMetrics {
  #accepted = 0
  #renewed = 0
  #expired = 0
  #revoked = 0
  readonly #refused: Partial<Record<ErrorCode, number>> = {}
  readonly #renewalRefused: Partial<Record<ErrorCode, number>> = {}
  readonly #rateLimited: Partial<Record<ErrorCode, number>> = {}
  readonly #renewalLatency = new Histogram()
  readonly #expiryLateness = new Histogram()
  readonly #connections: () => number

  constructor (connections: () => number) {
    this.#connections = connections
  }

  // Called once per connection, renewal or refusal: each event object is built only when
  // its channel has subscribers.
  accepted (connectionId: string, subject: string): void {
    this.#accepted++
    if (channels.accepted.hasSubscribers) channels.accepted.publish({ connectionId, subject } satisfies MetricsEvent)
  }

  refused (code: ErrorCode): void {
    bump(this.#refused, code)
    if (channels.refused.hasSubscribers) channels.refused.publish({ code } satisfies MetricsEvent)
    this.#limit(code, undefined, undefined)
  }

  renewed (connectionId: string, subject: string, latencyMs: number): void {
    this.#renewed++
    this.#renewalLatency.observe(latencyMs)
    if (channels.renewed.hasSubscribers) channels.renewed.publish({ connectionId, subject, latencyMs } satisfies MetricsEvent)
  }

  renewalRefused (connectionId: string, subject: string, code: ErrorCode): void {
    bump(this.#renewalRefused, code)
    if (channels.renewalRefused.hasSubscribers) channels.renewalRefused.publish({ connectionId, subject, code } satisfies MetricsEvent)
    this.#limit(code, connectionId, subject)
  }

  expired (connectionId: string, subject: string, lateMs: number): void {
    this.#expired++
    this.#expiryLateness.observe(Math.max(0, lateMs))
    if (channels.expired.hasSubscribers) channels.expired.publish({ connectionId, subject, lateMs } satisfies MetricsEvent)
  }

  revoked (connectionId: string, subject: string): void {
    this.#revoked++
    if (channels.revoked.hasSubscribers) channels.revoked.publish({ connectionId, subject } satisfies MetricsEvent)
  }

  /** A live connection closed by a limit (message rate, send buffer, connection policy). */
  limited (connectionId: string, subject: string, code: ErrorCode): void {
    this.#limit(code, connectionId, subject)
  }

  closed (connectionId: string, subject: string, closeCode: number): void {
    if (channels.closed.hasSubscribers) channels.closed.publish({ connectionId, subject, closeCode } satisfies MetricsEvent & { closeCode: number })
  }

  /** A refusal by a limit; `connectionId` and `subject` are absent for a refused handshake. */
  #limit (code: ErrorCode, connectionId: string | undefined, subject: string | undefined): void {
    if (!LIMIT_CODES.has(code)) return
    bump(this.#rateLimited, code)
    if (channels.rateLimited.hasSubscribers) {
      channels.rateLimited.publish((connectionId === undefined ? { code } : { connectionId, subject, code }) satisfies MetricsEvent)
    }
  }

  snapshot (): MetricsSnapshot {
    return {
      connections: this.#connections(),
      accepted: this.#accepted,
      refused: { ...this.#refused },
      renewed: this.#renewed,
      renewalRefused: { ...this.#renewalRefused },
      expired: this.#expired,
      revoked: this.#revoked,
      rateLimited: { ...this.#rateLimited },
      renewalLatencyMs: this.#renewalLatency.snapshot(),
      expiryLatenessMs: this.#expiryLateness.snapshot()
    }
  }
}
