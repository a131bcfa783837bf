/**
 * Tokens must never travel in a URL: URLs end up in access logs, proxies and browser
 * history. An upgrade request whose query looks like it carries a credential is marked
 * and its URL redacted before Fastify logs it; authenticated routes then refuse it.
 */
const CREDENTIAL_PARAMETER = /^(?:token|access_token|accesstoken|id_token|jwt|auth|authorization|bearer|credential)$/i
// A JWT's header segment always starts with `eyJ` (base64url of `{"`).
const JWT_LIKE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\./

export const REDACTED = '[redacted]'

/**
 * Returns the URL with credential-looking query values replaced by `[redacted]`, or
 * `undefined` when the query carries nothing that looks like a credential.
 */
export function redactQueryCredential (url: string): string | undefined {
  const start = url.indexOf('?')
  if (start === -1) return undefined
  const query = url.slice(start + 1)
  let found = false
  const parts = query.split('&').map((part) => {
    const eq = part.indexOf('=')
    const rawName = eq === -1 ? part : part.slice(0, eq)
    let name: string
    let value: string
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '))
      value = eq === -1 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '))
    } catch {
      name = rawName
      value = eq === -1 ? '' : part.slice(eq + 1)
    }
    if (CREDENTIAL_PARAMETER.test(name) || JWT_LIKE.test(value) || JWT_LIKE.test(name)) {
      found = true
      return JWT_LIKE.test(name) ? REDACTED : `${rawName}=${REDACTED}`
    }
    return part
  })
  return found ? `${url.slice(0, start)}?${parts.join('&')}` : undefined
}
