type Listener = (...args: unknown[]) => void

/**
 * A minimal typed event emitter for browsers and Node alike (no `node:events`), so the
 * client bundles for a page without polyfills. `Events` maps each event name to the
 * tuple of arguments its listeners receive.
 */
export class Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  // Stored untyped: `on` and `emit` are where the event map's types are enforced.
  readonly #listeners = new Map<keyof Events, Set<Listener>>()

  /** Adds `listener`; returns a function that removes it. */
  on<E extends keyof Events> (event: E, listener: (...args: Events[E]) => void): () => void {
    let listeners = this.#listeners.get(event)
    if (listeners === undefined) this.#listeners.set(event, listeners = new Set())
    listeners.add(listener as unknown as Listener)
    return () => { this.off(event, listener) }
  }

  /** Adds `listener` for the next `event` only. */
  once<E extends keyof Events> (event: E, listener: (...args: Events[E]) => void): () => void {
    const off = this.on(event, (...args) => {
      off()
      listener(...args)
    })
    return off
  }

  off<E extends keyof Events> (event: E, listener: (...args: Events[E]) => void): void {
    this.#listeners.get(event)?.delete(listener as unknown as Listener)
  }

  protected emit<E extends keyof Events> (event: E, ...args: Events[E]): void {
    const listeners = this.#listeners.get(event)
    if (listeners === undefined) return
    for (const listener of [...listeners]) {
      try {
        listener(...args)
      } catch (error) {
        // A throwing listener must not leave the connection's state machine half-updated,
        // nor keep the listeners after it from running.
        this.reportListenerError(error)
      }
    }
  }

  /** Reports an error thrown by a listener: as an uncaught error, after the emit, as EventTarget does. */
  protected reportListenerError (error: unknown): void {
    queueMicrotask(() => { throw error })
  }
}
