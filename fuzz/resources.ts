import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { Target } from './target.ts'

export interface ResourceSample {
  readonly cases: number
  readonly heapUsedMiB: number
  readonly rssMiB: number
  readonly handles: number
  readonly registry: number
}

/** `global.gc` (node --expose-gc), or the same function obtained at run time (under tap, which starts node itself). */
function findGc (): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc
  if (exposed !== undefined) return exposed
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as (() => void) | undefined
}

const gc = findGc()
const mib = (bytes: number): number => Math.round(bytes / 1048576 * 10) / 10

/** Heap after a full GC (when node runs with --expose-gc), RSS, live handles and the plugin's registry size. */
export function sample (cases: number, target: Target): ResourceSample {
  gc?.()
  const memory = process.memoryUsage()
  return {
    cases,
    heapUsedMiB: mib(memory.heapUsed),
    rssMiB: mib(memory.rss),
    handles: process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap' && kind !== 'Timeout').length,
    registry: target.app.wsAuth.size
  }
}

export const gcAvailable = gc !== undefined
