import type fc from 'fast-check'
import type { Target } from './target.ts'

export interface CaseEnv {
  /** The real server, for the families that go over sockets. */
  readonly target: Target
  /** Longest wait for one answer from the server. */
  readonly timeoutMs: number
}

/**
 * One kind of input. A case is one generated value; `run` throws a {@link Violation} when
 * an invariant fails. `arbitrary(index)` may name things after the case (a subject of its
 * own), so that concurrent cases over sockets never share state.
 */
export interface Family<Input = unknown> {
  readonly name: string
  readonly description: string
  /** In-process families call the plugin's functions; socket families a real server. */
  readonly kind: 'in-process' | 'socket'
  /** Share of a run without `--family`, relative to the other families. */
  readonly weight: number
  /** Cases run at once (socket families: independent connections). */
  readonly concurrency: number
  arbitrary (index: number): fc.Arbitrary<Input>
  run (input: Input, env: CaseEnv, index: number): void | Promise<void>
}

/** The in-process families' time: fixed, so a case replays bit for bit. */
export const FIXED_NOW = Date.UTC(2026, 0, 1)
