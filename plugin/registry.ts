/** The identity of a live connection, as the registry indexes it. */
export interface RegisteredConnection {
  readonly id: string
  readonly subject: string
  readonly sessionId: string | undefined
  /** The current credential's `jti`; it changes when the connection renews. */
  readonly tokenId: string | undefined
}

/**
 * Where `fastify.wsAuth` keeps its registry, for tests and the benchmark (not API). A
 * registered symbol, so that a separately loaded build of the plugin answers to it too.
 */
export const kRegistry = Symbol.for('fastify-ws-auth.registry')

/** Which live connections an operation applies to; at least one field. */
export interface ConnectionSelector {
  connectionId?: string
  subject?: string
  sessionId?: string
}

/**
 * Live authenticated connections of this process, indexed by id, subject, session and
 * token id, so that closing or revoking any of them costs in proportion to the
 * connections matched, never to the connections held (a token-id revocation used to walk
 * every live connection: 1,000 of them with 19,000 held was 19 million visits).
 */
export class ConnectionRegistry<C extends RegisteredConnection> {
  readonly #byId = new Map<string, C>()
  // A key with one connection maps to it directly; a Set is made only for a second one
  // (measured in bench/: a Set per subject and per session cost ~400 bytes a connection).
  readonly #bySubject = new Map<string, C | Set<C>>()
  readonly #bySession = new Map<string, C | Set<C>>()
  // Usually one connection per token; two when a client reuses its token for a second socket.
  readonly #byToken = new Map<string, C | Set<C>>()
  #visited = 0

  get size (): number {
    return this.#byId.size
  }

  /**
   * How many connections the lookups have examined so far (every candidate of `select` and
   * `withToken`): the work of targeted operations, counted so tests and the benchmark can
   * show it follows the matches, not the crowd.
   */
  get visited (): number {
    return this.#visited
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
    if (connection.tokenId !== undefined) index(this.#byToken, connection.tokenId, connection)
  }

  /** Re-indexes `connection` after its credential (so maybe its token id) was replaced. */
  retoken (connection: C, previousTokenId: string | undefined): void {
    if (previousTokenId === connection.tokenId || this.#byId.get(connection.id) !== connection) return
    if (previousTokenId !== undefined) unindex(this.#byToken, previousTokenId, connection)
    if (connection.tokenId !== undefined) index(this.#byToken, connection.tokenId, connection)
  }

  remove (connection: C): void {
    if (this.#byId.get(connection.id) !== connection) return
    this.#byId.delete(connection.id)
    unindex(this.#bySubject, connection.subject, connection)
    if (connection.sessionId !== undefined) unindex(this.#bySession, connection.sessionId, connection)
    if (connection.tokenId !== undefined) unindex(this.#byToken, connection.tokenId, connection)
  }

  /** Live connections whose current credential has `tokenId` as its `jti`. */
  withToken (tokenId: string): C[] {
    const matches = [...entries(this.#byToken.get(tokenId))]
    this.#visited += matches.length
    return matches
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
      this.#visited++
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
