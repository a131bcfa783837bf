import { Timeline } from './timeline.ts'

/** Thrown by `fail` to end a case's script; the run keeps the reason. */
export class CaseFailed extends Error {}

/**
 * What a run of a case has whichever side the kit plays (grading a client or a server):
 * the timeline, the failures found, and a wait that re-checks its condition on every event.
 */
export abstract class RecordedRun {
  readonly timeline = new Timeline()
  readonly failures: string[] = []
  readonly #waiters = new Set<() => void>()

  /** Resolves to whether `condition` held before `timeoutMs` passed; re-checked on every event. */
  until (condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true)
    return new Promise((resolve) => {
      const finish = (value: boolean): void => {
        clearTimeout(timer)
        this.#waiters.delete(check)
        resolve(value)
      }
      const check = (): void => { if (condition()) finish(true) }
      const timer = setTimeout(() => { finish(condition()) }, timeoutMs)
      this.#waiters.add(check)
    })
  }

  /** Called on every event, so that waiting conditions are re-checked. */
  changed (): void {
    for (const waiter of [...this.#waiters]) waiter()
  }

  sleep (ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms))
  }

  note (text: string): void {
    this.timeline.add('note', 'note', text)
  }

  /** A failure that does not stop the script. */
  violation (reason: string): void {
    if (this.failures.includes(reason)) return
    this.failures.push(reason)
    this.timeline.add('note', 'fail', reason)
  }

  expect (condition: boolean, reason: string): boolean {
    if (!condition) this.violation(reason)
    return condition
  }

  /** Fails and ends the case. */
  fail (reason: string): never {
    this.violation(reason)
    throw new CaseFailed(reason)
  }
}
