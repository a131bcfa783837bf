import type { ClientSpec, OpenPoolJob, PoolResult } from '../shared/protocol.ts'
import type { ScenarioContext } from './scenario.ts'

/** Opens a pool of held connections and fails loudly if too few opened. */
export async function openPool (context: ScenarioContext, pool: string, client: ClientSpec, count: number, options: Partial<Pick<OpenPoolJob, 'ttlSeconds' | 'deadlineSpreadMs' | 'sessionPrefix' | 'wholeSeconds'>> = {}): Promise<PoolResult> {
  const timeoutMs = 30_000 + count * 5
  const result = await context.generator.run<PoolResult>({
    kind: 'open-pool',
    pool,
    client,
    count,
    concurrency: Math.min(64, count),
    ttlSeconds: options.ttlSeconds ?? 3600,
    deadlineSpreadMs: options.deadlineSpreadMs,
    sessionPrefix: options.sessionPrefix,
    wholeSeconds: options.wholeSeconds,
    timeoutMs
  }, timeoutMs + 30_000)
  if (result.opened < count) {
    throw new Error(`pool ${pool}: ${result.opened} of ${count} connections opened (${result.errorSamples.join('; ')})`)
  }
  return result
}

export async function closePool (context: ScenarioContext, pool: string): Promise<PoolResult> {
  return context.generator.run<PoolResult>({ kind: 'close-pool', pool, timeoutMs: 30_000 }, 60_000)
}
