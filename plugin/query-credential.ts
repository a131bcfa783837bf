import { unescape } from 'node:querystring'
import { looksLikeJwt } from './credential-shape.ts'

/**
 * Tokens must never travel in a URL: URLs end up in access logs, proxies and browser
 * history. A request to an authenticated route whose query looks like it carries a
 * credential has its URL redacted before Fastify logs it, and a handshake is refused.
 * The rule is SPEC.md §2.4's; test/spec.test.ts runs the SPEC's table of examples
 * against this module.
 */
// A credential name, also with `[...]` suffixes (`token[]`, `auth[token]`), which qs-style parsers fold into the name.
const CREDENTIAL_PARAMETER = /^(?:token|access_token|accesstoken|id_token|jwt|auth|authorization|bearer|credential)(?:\[[^\]]*\])*$/i
// Percent-decoding rounds (once for a normal URL, more for double encoding). A text that a
// further round would still change cannot be shown to be clean, and counts as a credential.
const DECODING_ROUNDS = 4
const ESCAPE = /%[0-9A-Fa-f]{2}/

export const REDACTED = '[redacted]'

/**
 * Percent-decodes as often as the text changes, at most {@link DECODING_ROUNDS} times. A
 * malformed escape (`%zz`, a lone `%`, broken UTF-8) stays as it is while every valid one
 * around it is decoded (node:querystring's `unescape` falls back to exactly that), so a
 * bad escape can no longer hide `%2E`-encoded dots. `+` is a space, as in forms.
 * Returns `undefined` when the text is still encoded after the last round.
 */
function decoded (raw: string): string | undefined {
  let text = raw.indexOf('+') === -1 ? raw : raw.replace(/\+/g, ' ')
  for (let round = 0; round < DECODING_ROUNDS; round++) {
    if (text.indexOf('%') === -1) return text
    const next = unescape(text)
    if (next === text) return text
    text = next
  }
  return ESCAPE.test(text) ? undefined : text
}

function isCredential (rawName: string, rawValue: string | undefined): 'name' | 'value' | undefined {
  const name = decoded(rawName)
  if (name === undefined || looksLikeJwt(name)) return 'name'
  if (CREDENTIAL_PARAMETER.test(name)) return 'value'
  if (rawValue === undefined) return undefined
  const value = decoded(rawValue)
  return value === undefined || looksLikeJwt(value) ? 'value' : undefined
}

/**
 * Whether one query parameter (`name=value`, raw, as in the URL) counts as a credential
 * under SPEC §2.4.
 */
export function isCredentialParameter (parameter: string): boolean {
  const eq = parameter.indexOf('=')
  return isCredential(eq === -1 ? parameter : parameter.slice(0, eq), eq === -1 ? undefined : parameter.slice(eq + 1)) !== undefined
}

/**
 * Returns the URL with credential-looking query parameters replaced by `[redacted]`, or
 * `undefined` when the query carries nothing that looks like a credential. Parameters are
 * separated by `&` or `;` (some servers and proxies split on both).
 */
export function redactQueryCredential (url: string): string | undefined {
  const start = url.indexOf('?')
  if (start === -1) return undefined
  let found = false
  let out = url.slice(0, start + 1)
  for (let from = start + 1; from <= url.length;) {
    let end = from
    while (end < url.length && url.charCodeAt(end) !== 0x26 && url.charCodeAt(end) !== 0x3b) end++
    const part = url.slice(from, end)
    const eq = part.indexOf('=')
    const rawName = eq === -1 ? part : part.slice(0, eq)
    const verdict = isCredential(rawName, eq === -1 ? undefined : part.slice(eq + 1))
    if (verdict === undefined) {
      out += part
    } else {
      found = true
      out += verdict === 'name' ? REDACTED : `${rawName}=${REDACTED}`
    }
    if (end < url.length) out += url[end]
    from = end + 1
  }
  return found ? out : undefined
}
