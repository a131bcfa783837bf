// A JWT's header segment always starts with `eyJ` (base64url of `{"`): `eyJ`, base64url
// characters, a dot, more of them, a dot (SPEC §2.4). Case-sensitive, as base64url is.
const JWT_SHAPE = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./
const BEARER_ANY_CASE = /wsauth\.bearer\./i
const BEARER_WORD = /bearer/i

/** Whether `text` contains something shaped like a compact JWT (SPEC §2.4). */
export function looksLikeJwt (text: string): boolean {
  return JWT_SHAPE.test(text)
}

/**
 * Whether a subprotocol entry (or a header without any `wsauth.bearer.` entry) holds a
 * credential the server would not read as one: `wsauth.bearer.` in another letter case
 * (subprotocol names are case-sensitive) or a JWT shape outside a bearer entry. Such a
 * handshake is refused as malformed rather than taken for "no credential" (SPEC §2.1).
 */
export function isMisplacedCredential (text: string): boolean {
  return BEARER_ANY_CASE.test(text) || JWT_SHAPE.test(text)
}

/**
 * Whether a subprotocol entry could carry a credential, so that the server must never
 * select (echo) it: the bearer prefix in any letter case, the word `bearer` (other
 * schemes, such as Kubernetes' `base64url.bearer.authorization.k8s.io.<token>`), or a
 * JWT shape anywhere in it.
 */
export function couldCarryCredential (entry: string): boolean {
  return BEARER_WORD.test(entry) || JWT_SHAPE.test(entry)
}
