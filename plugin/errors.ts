// The named import and the explicit constructor types keep the emitted .d.ts free of the
// `createError.` namespace, which a default import of this CommonJS module does not give
// under `moduleResolution: bundler`.
import { createError, type FastifyErrorConstructor } from '@fastify/error'

/**
 * Thrown at `register` when an option is missing, unknown or unsafe. Authentication failures
 * are not exceptions: they are the protocol's error values (`ERRORS` in protocol/), answered
 * with an HTTP status or an `auth_error` frame and a close code.
 */
export const InvalidOptionError: FastifyErrorConstructor<{ code: 'FST_WS_AUTH_INVALID_OPTION', statusCode: 500 }, [option: string, problem: string]> = createError(
  'FST_WS_AUTH_INVALID_OPTION',
  'fastify-ws-auth: option "%s" %s',
  500,
  TypeError
)

/** Thrown at `register` when @fastify/websocket is already registered on the instance. */
export const WebsocketAlreadyRegisteredError: FastifyErrorConstructor<{ code: 'FST_WS_AUTH_WEBSOCKET_REGISTERED', statusCode: 500 }, []> = createError(
  'FST_WS_AUTH_WEBSOCKET_REGISTERED',
  'fastify-ws-auth registers @fastify/websocket itself so that it can authenticate before the upgrade: ' +
    'remove your own registration and pass its options as the "websocket" option of fastify-ws-auth',
  500
)

/** Thrown at route definition when `wsAuth` is set on a route that is not a WebSocket route. */
export const NotAWebsocketRouteError: FastifyErrorConstructor<{ code: 'FST_WS_AUTH_NOT_WEBSOCKET_ROUTE', statusCode: 500 }, [url: string]> = createError(
  'FST_WS_AUTH_NOT_WEBSOCKET_ROUTE',
  'fastify-ws-auth: route "%s" sets wsAuth but not websocket: true',
  500
)

/**
 * Thrown at `ready()` when a route sets `wsAuth` but the plugin's hooks never saw it: the
 * route was declared before the plugin had loaded, or outside the scope it is registered in.
 */
export const RouteBeforePluginError: FastifyErrorConstructor<{ code: 'FST_WS_AUTH_ROUTE_BEFORE_PLUGIN', statusCode: 500 }, [routes: string]> = createError(
  'FST_WS_AUTH_ROUTE_BEFORE_PLUGIN',
  'fastify-ws-auth: the wsAuth route %s was declared before the plugin had loaded or outside its scope, ' +
    'so it would not authenticate: register fastify-ws-auth with await before declaring it, ' +
    'or declare it in a plugin registered after fastify-ws-auth, in the same scope or a child scope',
  500
)

/** Thrown by `fastify.wsAuth.revoke` when the revocation is malformed. */
export const InvalidRevocationError: FastifyErrorConstructor<{ code: 'FST_WS_AUTH_INVALID_REVOCATION', statusCode: 500 }, [problem: string]> = createError(
  'FST_WS_AUTH_INVALID_REVOCATION',
  'fastify-ws-auth: revocation %s',
  500,
  TypeError
)
