/** Version of the wire protocol described in SPEC.md. */
export const PROTOCOL_VERSION = 1

/**
 * The subprotocol a client offers and the server selects. Selecting it tells the client
 * that the server speaks this protocol version.
 */
export const SUBPROTOCOL = `wsauth.v${PROTOCOL_VERSION}`

/**
 * Prefix of the subprotocol entry that carries the credential: `wsauth.bearer.<token>`.
 * A compact JWT is made only of characters that RFC 6455 allows in a subprotocol token.
 * The server never selects (echoes) an entry with this prefix.
 */
export const BEARER_SUBPROTOCOL_PREFIX = 'wsauth.bearer.'

/**
 * Hard upper bound on a token's length anywhere in the protocol. Servers may configure a
 * lower limit; no conforming server accepts a longer one.
 */
export const MAX_TOKEN_LENGTH = 16_384

/** Longest `id` a client may put on a `renew` frame; it is echoed in the reply. */
export const MAX_REQUEST_ID_LENGTH = 64

/** A close reason is at most 123 bytes of UTF-8 (RFC 6455 §5.5: control frame payload ≤ 125). */
export const MAX_CLOSE_REASON_BYTES = 123

/**
 * Largest protocol frame a client may send, in bytes: a `renew` with the longest token and
 * `id`, and room for whitespace and members a later revision may add. A frame of a reserved
 * type over it is a protocol violation (SPEC.md section 4).
 */
export const MAX_CLIENT_FRAME_BYTES = MAX_TOKEN_LENGTH + 512
