import type { FastifyInstance } from 'fastify'
import { WebsocketAlreadyRegisteredError } from './errors.ts'

const PLUGIN_META = Symbol.for('plugin-meta')

function isFastifyWebsocket (plugin: unknown): boolean {
  // A plugin may be given as the function or as its ES module namespace.
  const candidate = (plugin as { default?: unknown } | null)?.default ?? plugin
  return typeof candidate === 'function' && (candidate as { [PLUGIN_META]?: { name?: string } })[PLUGIN_META]?.name === '@fastify/websocket'
}

/**
 * Makes a registration of @fastify/websocket after this plugin fail at `ready()` with
 * `FST_WS_AUTH_WEBSOCKET_REGISTERED`. Without it the process crashes: @fastify/websocket
 * decorates synchronously inside a callback-style plugin, and avvio lets that throw
 * (`FST_ERR_DEC_ALREADY_PRESENT`, naming neither plugin) escape as an uncaught exception.
 * Fastify has no hook that runs before a plugin that shares its parent's context, so the
 * instance's `register` is wrapped; scopes created from the instance later inherit it.
 */
export function refuseLaterWebsocketRegistration (fastify: FastifyInstance): void {
  const register = fastify.register
  const guarded = function (this: FastifyInstance, plugin: unknown, options?: unknown) {
    const refused = isFastifyWebsocket(plugin)
      ? async function fastifyWebsocketRefused () { throw new WebsocketAlreadyRegisteredError() }
      : plugin
    return (register as (this: FastifyInstance, plugin: unknown, options?: unknown) => unknown).call(this, refused, options)
  }
  fastify.register = guarded as unknown as FastifyInstance['register']
}
