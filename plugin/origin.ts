/**
 * Exact Origin allowlist. Entries are normalised once at register time; the request's
 * Origin header is compared as a string, so look-alike hosts, other schemes and other
 * ports never match, and the opaque origin `null` never matches.
 */
export function normaliseOrigin (value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new TypeError(`"${value}" is not an origin (scheme://host[:port])`)
  }
  if (url.origin === 'null' || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(`"${value}" is not an http or https origin`)
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '' || value.endsWith('/')) {
    throw new TypeError(`"${value}" has a path, query, credentials or fragment: give only scheme://host[:port]`)
  }
  return url.origin
}

export class OriginPolicy {
  readonly #allowed: ReadonlySet<string>

  constructor (origins: readonly string[]) {
    this.#allowed = new Set(origins.map(normaliseOrigin))
  }

  get size (): number {
    return this.#allowed.size
  }

  /** `origin` is the raw header value, `undefined` when absent. */
  allows (origin: string | undefined): boolean {
    return origin !== undefined && this.#allowed.has(origin.toLowerCase())
  }
}
