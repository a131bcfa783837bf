export interface BackoffOptions {
  /** Upper bound of the first delay, in ms. @default 500 */
  baseDelay?: number
  /** Upper bound of every delay, in ms. @default 30000 */
  maxDelay?: number
}

/**
 * Exponential backoff with full jitter: a delay drawn uniformly from
 * `[0, min(maxDelay, baseDelay × 2^attempt))`, so that clients dropped together (a server
 * restart) do not come back together. `attempt` counts from 0; `random` returns `[0, 1)`.
 */
export function backoffDelay (attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseDelay ?? 500
  const max = options.maxDelay ?? 30_000
  // Capping the exponent keeps 2^attempt finite however long a client keeps trying.
  const ceiling = Math.min(max, base * 2 ** Math.min(Math.max(0, attempt), 30))
  return Math.floor(random() * ceiling)
}
