import createError from '@fastify/error'

/**
 * Thrown at `register` when an option is missing or unsafe. Authentication failures are
 * not exceptions: they are the protocol's error values (`ERRORS` in protocol/), answered
 * with an HTTP status or an `auth_error` frame and a close code.
 */
export const InvalidOptionError = createError<[option: string, problem: string]>(
  'FST_WS_AUTH_INVALID_OPTION',
  'fastify-ws-auth: option "%s" %s',
  500,
  TypeError
)

/** Thrown at `register` when @fastify/websocket is already registered on the instance. */
export const WebsocketAlreadyRegisteredError = createError(
  'FST_WS_AUTH_WEBSOCKET_REGISTERED',
  'fastify-ws-auth registers @fastify/websocket itself so that it can authenticate before the upgrade: ' +
    'remove your own registration and pass its options as the "websocket" option of fastify-ws-auth',
  500
)

/** Thrown at route definition when `wsAuth` is set on a route that is not a WebSocket route. */
export const NotAWebsocketRouteError = createError<[url: string]>(
  'FST_WS_AUTH_NOT_WEBSOCKET_ROUTE',
  'fastify-ws-auth: route "%s" sets wsAuth but not websocket: true',
  500
)

/** Thrown by `fastify.wsAuth.revoke` when the revocation is malformed. */
export const InvalidRevocationError = createError<[problem: string]>(
  'FST_WS_AUTH_INVALID_REVOCATION',
  'fastify-ws-auth: revocation %s',
  500,
  TypeError
)
