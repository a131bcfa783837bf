export interface BackoffOptions {
  /** First delay's upper bound, ms. @default 500 */
  baseDelay?: number
  /** Largest delay, ms. @default 30000 */
  maxDelay?: number
}

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and
 * Jitter"): a uniform delay in [0, min(maxDelay, baseDelay × 2^attempt)), so that clients
 * dropped together do not come back together.
 */
export function backoffDelay (attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseDelay ?? 500
  const max = options.maxDelay ?? 30_000
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30))
  return Math.floor(random() * ceiling)
}
