import { BEARER_SUBPROTOCOL_PREFIX, ERRORS, SUBPROTOCOL, type ErrorDefinition } from '../protocol/index.ts'

/** Where a connection's credential came from. */
export type CredentialSource = 'subprotocol' | 'cookie' | 'auth_frame'

export interface PresentedCredential {
  readonly token: string
  readonly source: CredentialSource
}

// RFC 7230 `token`: the only characters RFC 6455 allows in a subprotocol entry.
const SUBPROTOCOL_ENTRY = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * Reads `wsauth.bearer.<token>` out of a Sec-WebSocket-Protocol header. Anything
 * ambiguous is refused here, before any cryptography: an illegal or repeated entry, two
 * bearer entries, a bearer entry without the protocol version the server must select.
 * Returns the token, `undefined` when the header carries no credential, or the error.
 */
export function tokenFromSubprotocols (header: string | undefined, maxTokenLength: number): string | undefined | ErrorDefinition {
  if (header === undefined || header.indexOf(BEARER_SUBPROTOCOL_PREFIX) === -1) return undefined
  const entries = header.split(',')
  let token: string | undefined
  let offersVersion = false
  for (let i = 0; i < entries.length; i++) {
    const entry = (entries[i] as string).trim()
    if (entry.startsWith(BEARER_SUBPROTOCOL_PREFIX)) {
      if (token !== undefined) return ERRORS.credential_ambiguous
      token = entry.slice(BEARER_SUBPROTOCOL_PREFIX.length)
      // Length before pattern: a huge entry is refused without scanning it.
      if (token.length > maxTokenLength) return ERRORS.token_too_large
    } else if (entry === SUBPROTOCOL) {
      if (offersVersion) return ERRORS.subprotocol_invalid
      offersVersion = true
    }
    if (!SUBPROTOCOL_ENTRY.test(entry)) return ERRORS.subprotocol_invalid
  }
  if (entries.length > 2) {
    const seen = new Set<string>()
    for (const entry of entries) {
      const trimmed = entry.trim()
      if (seen.has(trimmed)) return ERRORS.subprotocol_invalid
      seen.add(trimmed)
    }
  }
  if (!offersVersion) return ERRORS.subprotocol_invalid
  if (token === undefined || token.length === 0) return ERRORS.token_malformed
  return token
}

/**
 * Reads the named cookie. Two cookies of that name (for example one set for a parent
 * domain by another application) are ambiguous and refused rather than guessed between.
 */
export type CookieParser = (header: string) => Record<string, string | undefined>

export class CookieCredential {
  readonly name: string
  readonly #occurrence: RegExp
  readonly #parse: CookieParser

  constructor (name: string, parse: CookieParser) {
    this.name = name
    this.#parse = parse
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    this.#occurrence = new RegExp(`(?:^|;)\\s*${escaped}\\s*=`, 'g')
  }

  read (header: string | undefined, maxTokenLength: number): string | undefined | ErrorDefinition {
    if (header === undefined || header.indexOf(this.name) === -1) return undefined
    const occurrences = header.match(this.#occurrence)
    if (occurrences === null) return undefined
    if (occurrences.length > 1) return ERRORS.credential_ambiguous
    const value = this.#parse(header)[this.name]
    if (value === undefined || value.length === 0) return undefined
    if (value.length > maxTokenLength) return ERRORS.token_too_large
    return value
  }
}

export function isErrorDefinition (value: unknown): value is ErrorDefinition {
  return typeof value === 'object' && value !== null && 'closeCode' in value
}
