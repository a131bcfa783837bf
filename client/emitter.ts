type Listener = (...args: unknown[]) => void

/**
 * A minimal typed event emitter that runs in browsers and Node alike (no `node:events`),
 * so the client bundles for a page without polyfills.
 */
export class Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  // Listeners are stored untyped; `on`/`emit` are where the event map's types are enforced.
  readonly #listeners = new Map<keyof Events, Set<Listener>>()

  on<E extends keyof Events> (event: E, listener: (...args: Events[E]) => void): () => void {
    let set = this.#listeners.get(event)
    if (set === undefined) this.#listeners.set(event, set = new Set())
    set.add(listener as unknown as Listener)
    return () => { this.off(event, listener) }
  }

  off<E extends keyof Events> (event: E, listener: (...args: Events[E]) => void): void {
    this.#listeners.get(event)?.delete(listener as unknown as Listener)
  }

  protected emit<E extends keyof Events> (event: E, ...args: Events[E]): void {
    const set = this.#listeners.get(event)
    if (set === undefined) return
    for (const listener of [...set]) {
      // A throwing listener must not break the connection's state machine.
      try {
        listener(...args)
      } catch (error) {
        queueMicrotask(() => { throw error })
      }
    }
  }
}
