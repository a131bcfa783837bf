import { readFileSync } from 'node:fs'
import { control } from '../shared/control-client.ts'

// /proc/stat counts in USER_HZ ticks, 100 per second on Linux.
const TICK_US = 10_000

/** CPU time the whole machine has spent busy (all cores, all processes), µs; undefined off Linux. */
export function machineBusyUs (): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0] as string
    const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number) as number[]
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * TICK_US
  } catch {
    return undefined
  }
}

export interface WindowTotals {
  durationMs: number
  serverCpuUs: number
  generatorCpuUs: number
  machineBusyUs?: number
}

/**
 * A measured window: the server's CPU time is read right at both ends, by the generator
 * that knows exactly when its counting starts and stops.
 */
export class MeasureWindow {
  readonly #serverCpuUs: () => Promise<number>
  readonly #serverStart: number
  readonly #ownStart: NodeJS.CpuUsage
  readonly #startedAt: number
  readonly #machineStart: number | undefined

  private constructor (serverCpuUs: () => Promise<number>, serverStart: number) {
    this.#serverCpuUs = serverCpuUs
    this.#serverStart = serverStart
    this.#ownStart = process.cpuUsage()
    this.#machineStart = machineBusyUs()
    this.#startedAt = performance.now()
  }

  /** A window over one server process, read over its control port. */
  static async open (controlPort: number): Promise<MeasureWindow> {
    return await MeasureWindow.over(async () => {
      const cpu = await control.cpu(controlPort)
      return cpu.userUs + cpu.systemUs
    })
  }

  /**
   * A window over whatever `serverCpuUs` counts as "the server" (µs of CPU time): several
   * processes when what is measured is a cluster.
   */
  static async over (serverCpuUs: () => Promise<number>): Promise<MeasureWindow> {
    return new MeasureWindow(serverCpuUs, await serverCpuUs())
  }

  /** Closes the window: call it right when counting stops, then read the server. */
  async close (): Promise<WindowTotals> {
    const durationMs = performance.now() - this.#startedAt
    const own = process.cpuUsage(this.#ownStart)
    const machineEnd = machineBusyUs()
    const totals: WindowTotals = { durationMs, serverCpuUs: await this.#serverCpuUs() - this.#serverStart, generatorCpuUs: own.user + own.system }
    // Lets the report say how much CPU other processes took from this run (a shared machine).
    if (machineEnd !== undefined && this.#machineStart !== undefined) totals.machineBusyUs = machineEnd - this.#machineStart
    return totals
  }
}

/** Load is started this long (at most a quarter of the window) before counting, so the window sees a steady state. */
const RAMP_MS = 100

/**
 * The measured part of a load job, once its load is running: the ramp, then `durationMs`
 * of counting inside a window opened by `open`. `counting(true)` and `counting(false)` are
 * called right after the window opens and right before it closes, so that what the job
 * counts and the CPU time the window reads cover the same span.
 */
export async function measureSteadyState (durationMs: number, open: () => Promise<MeasureWindow>, counting: (on: boolean) => void): Promise<WindowTotals> {
  await sleep(Math.min(RAMP_MS, durationMs / 4))
  const window = await open()
  counting(true)
  await sleep(durationMs)
  counting(false)
  return await window.close()
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves when `done()` holds, or with false after `timeoutMs`. */
export async function until (done: () => boolean, timeoutMs: number, stepMs = 5): Promise<boolean> {
  const started = performance.now()
  while (!done()) {
    if (performance.now() - started > timeoutMs) return false
    await sleep(stepMs)
  }
  return true
}
