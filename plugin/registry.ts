/** The identity of a live connection, as the registry indexes it. */
export interface RegisteredConnection {
  readonly id: string
  readonly subject: string
  readonly sessionId: string | undefined
}

/** Which live connections an operation applies to; at least one field. */
export interface ConnectionSelector {
  connectionId?: string
  subject?: string
  sessionId?: string
}

/**
 * Live authenticated connections of this process, indexed by id, subject and session so
 * that revoking a subject or a session finds its sockets without a scan. A shared store
 * (a later Redis layer) feeds the same `select` through the plugin's `close` API.
 */
export class ConnectionRegistry<C extends RegisteredConnection> {
  readonly #byId = new Map<string, C>()
  // A key with one connection maps to it directly; a Set is made only for a second one
  // (measured in bench/: a Set per subject and per session cost ~400 bytes a connection).
  readonly #bySubject = new Map<string, C | Set<C>>()
  readonly #bySession = new Map<string, C | Set<C>>()

  get size (): number {
    return this.#byId.size
  }

  get (id: string): C | undefined {
    return this.#byId.get(id)
  }

  values (): IterableIterator<C> {
    return this.#byId.values()
  }

  add (connection: C): void {
    this.#byId.set(connection.id, connection)
    index(this.#bySubject, connection.subject, connection)
    if (connection.sessionId !== undefined) index(this.#bySession, connection.sessionId, connection)
  }

  remove (connection: C): void {
    if (this.#byId.get(connection.id) !== connection) return
    this.#byId.delete(connection.id)
    unindex(this.#bySubject, connection.subject, connection)
    if (connection.sessionId !== undefined) unindex(this.#bySession, connection.sessionId, connection)
  }

  /** Live connections of `subject`. */
  countSubject (subject: string): number {
    const entry = this.#bySubject.get(subject)
    return entry === undefined ? 0 : entry instanceof Set ? entry.size : 1
  }

  /** The longest-registered live connection of `subject`. */
  oldestOf (subject: string): C | undefined {
    const entry = this.#bySubject.get(subject)
    // Sets iterate in insertion order.
    return entry instanceof Set ? entry.values().next().value : entry
  }

  /** Connections matching every field of `selector`. */
  select (selector: ConnectionSelector): C[] {
    let candidates: Iterable<C>
    if (selector.connectionId !== undefined) {
      const one = this.#byId.get(selector.connectionId)
      candidates = one === undefined ? [] : [one]
    } else if (selector.sessionId !== undefined) {
      candidates = entries(this.#bySession.get(selector.sessionId))
    } else if (selector.subject !== undefined) {
      candidates = entries(this.#bySubject.get(selector.subject))
    } else {
      return []
    }
    const matches: C[] = []
    for (const c of candidates) {
      if (selector.subject !== undefined && c.subject !== selector.subject) continue
      if (selector.sessionId !== undefined && c.sessionId !== selector.sessionId) continue
      matches.push(c)
    }
    return matches
  }
}

function entries<C> (entry: C | Set<C> | undefined): Iterable<C> {
  return entry === undefined ? [] : entry instanceof Set ? entry : [entry]
}

function index<C> (map: Map<string, C | Set<C>>, key: string, value: C): void {
  const entry = map.get(key)
  if (entry === undefined) map.set(key, value)
  else if (entry instanceof Set) entry.add(value)
  else map.set(key, new Set([entry, value]))
}

function unindex<C> (map: Map<string, C | Set<C>>, key: string, value: C): void {
  const entry = map.get(key)
  if (entry === value) {
    map.delete(key)
  } else if (entry instanceof Set) {
    entry.delete(value)
    if (entry.size === 1) map.set(key, entry.values().next().value as C)
  }
}
