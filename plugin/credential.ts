import { BEARER_SUBPROTOCOL_PREFIX, ERRORS, SUBPROTOCOL, type ErrorDefinition } from '../protocol/index.ts'
import { isMisplacedCredential } from './credential-shape.ts'

/** Where a connection's credential came from. */
export type CredentialSource = 'subprotocol' | 'cookie' | 'auth_frame'

export interface PresentedCredential {
  readonly token: string
  readonly source: CredentialSource
}

// RFC 7230 `tchar`: the only characters RFC 6455 allows in a subprotocol entry.
const TCHAR = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1

const SP = 0x20
const HTAB = 0x09

function isTokenRange (text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    if (c > 127 || TCHAR[c] === 0) return false
  }
  return true
}

/**
 * Reads `wsauth.bearer.<token>` out of a Sec-WebSocket-Protocol header. Anything
 * ambiguous is refused here, before any cryptography: an illegal or repeated entry, two
 * bearer entries (equal or not: `credential_ambiguous` before the repeated-entry rule), a
 * bearer entry without the protocol version the server must select, and a credential in
 * any other entry (the bearer prefix in another letter case, a JWT shape).
 * Returns the token, `undefined` when the header carries no credential, or the error.
 *
 * One pass over the header by index, without splitting or a regular expression per entry:
 * it runs on every handshake (ws parses the header too, but only after this hook, and
 * without telling which of these errors it was).
 */
export function tokenFromSubprotocols (header: string | undefined, maxTokenLength: number): string | undefined | ErrorDefinition {
  if (header === undefined) return undefined
  // Without a bearer entry there is no credential, unless one is there in another spelling:
  // that is refused, never taken for "no credential" (and then perhaps echoed).
  // A header ws cannot parse is refused here too, with its code: past this hook ws would
  // answer it with a bare 400 that names no error (found by fuzz/, family handshake-hook).
  if (header.indexOf(BEARER_SUBPROTOCOL_PREFIX) === -1) return isMisplacedCredential(header) || !isEntryList(header) ? ERRORS.subprotocol_invalid : undefined
  let token: string | undefined
  let offersVersion = false
  let entries = 0
  for (let start = 0; start <= header.length;) {
    let end = header.indexOf(',', start)
    if (end === -1) end = header.length
    // Optional whitespace around each entry is SP or HTAB (RFC 7230 OWS).
    let from = start
    let to = end
    while (from < to && (header.charCodeAt(from) === SP || header.charCodeAt(from) === HTAB)) from++
    while (to > from && (header.charCodeAt(to - 1) === SP || header.charCodeAt(to - 1) === HTAB)) to--
    entries++
    if (header.startsWith(BEARER_SUBPROTOCOL_PREFIX, from) && to - from >= BEARER_SUBPROTOCOL_PREFIX.length) {
      if (token !== undefined) return ERRORS.credential_ambiguous
      // Length before characters: a huge entry is refused without scanning it.
      if (to - from - BEARER_SUBPROTOCOL_PREFIX.length > maxTokenLength) return ERRORS.token_too_large
      token = header.slice(from + BEARER_SUBPROTOCOL_PREFIX.length, to)
    } else if (to - from === SUBPROTOCOL.length && header.startsWith(SUBPROTOCOL, from)) {
      if (offersVersion) return ERRORS.subprotocol_invalid
      offersVersion = true
    } else if (isMisplacedCredential(header.slice(from, to))) {
      return ERRORS.subprotocol_invalid
    }
    if (from === to || !isTokenRange(header, from, to)) return ERRORS.subprotocol_invalid
    start = end + 1
  }
  if (entries > 2 && hasRepeatedEntry(header)) return ERRORS.subprotocol_invalid
  if (!offersVersion) return ERRORS.subprotocol_invalid
  if (token === undefined || token.length === 0) return ERRORS.token_malformed
  return token
}

/**
 * Whether `header` is a list of subprotocol entries as RFC 6455 §4.1 has it (and as ws reads
 * it): entries of `tchar`s, separated by commas with optional SP or HTAB, none empty, none
 * repeated.
 */
function isEntryList (header: string): boolean {
  let entries = 0
  for (let start = 0; start <= header.length;) {
    let end = header.indexOf(',', start)
    if (end === -1) end = header.length
    let from = start
    let to = end
    while (from < to && (header.charCodeAt(from) === SP || header.charCodeAt(from) === HTAB)) from++
    while (to > from && (header.charCodeAt(to - 1) === SP || header.charCodeAt(to - 1) === HTAB)) to--
    if (from === to || !isTokenRange(header, from, to)) return false
    entries++
    start = end + 1
  }
  return entries < 2 || !hasRepeatedEntry(header)
}

/**
 * Whether an entry is offered twice (RFC 6455 §4.1 forbids it); only asked when there are
 * more than two, after every entry passed the token check, so `trim()` removes exactly the
 * SP and HTAB around each (any other whitespace would have failed that check).
 */
function hasRepeatedEntry (header: string): boolean {
  const seen = new Set<string>()
  for (const entry of header.split(',')) {
    const trimmed = entry.trim()
    if (seen.has(trimmed)) return true
    seen.add(trimmed)
  }
  return false
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
