import { subscribe } from 'node:diagnostics_channel'
import type { FastifyInstance, RouteOptions } from 'fastify'
import { RouteBeforePluginError } from './errors.ts'

/*
 * Fastify's onRoute hooks see only the routes declared after them, and Fastify keeps no
 * route's options, so a `wsAuth` route declared before the plugin has loaded (an un-awaited
 * `register`, a sibling scope registered first, the plugin registered in a sibling scope)
 * would silently stay a plain GET route. Fastify announces every new instance on the
 * `fastify.initialization` diagnostics channel (since 4.x, so on every 5.x this package
 * supports); importing this module subscribes to it, which gives each instance created
 * afterwards a recording onRoute hook that runs before any plugin's. At `ready()` every
 * recorded `wsAuth` route must have been seen by the plugin's own hook; otherwise startup
 * fails with FST_WS_AUTH_ROUTE_BEFORE_PLUGIN. No library does this; it is written here.
 *
 * The state is shared through a global symbol, so two copies of this package in one process
 * (a nested install) agree on which routes a plugin saw.
 */

interface Watch {
  /** Route options objects that some copy of the plugin's onRoute hook has seen. */
  readonly protectedRoutes: WeakSet<object>
  subscribed: boolean
}

const kWatch = Symbol.for('fastify-ws-auth.route-watch.v1')
const shared = globalThis as { [kWatch]?: Watch }
const watch: Watch = shared[kWatch] ??= { protectedRoutes: new WeakSet(), subscribed: false }

/** Called by the plugin's onRoute hook for each route that sets `wsAuth`. */
export function markProtected (route: object): void {
  watch.protectedRoutes.add(route)
}

function methodsOf (route: RouteOptions): string[] {
  return Array.isArray(route.method) ? route.method : [route.method]
}

function watchInstance (fastify: FastifyInstance): void {
  const declared: RouteOptions[] = []
  fastify.addHook('onRoute', (route) => {
    // The HEAD twin Fastify adds to a GET route carries the same options; it cannot upgrade.
    if ((route as { wsAuth?: unknown }).wsAuth !== undefined && !methodsOf(route).every((method) => method === 'HEAD')) declared.push(route)
  })
  fastify.addHook('onReady', async () => {
    const missed = declared.filter((route) => !watch.protectedRoutes.has(route))
    if (missed.length > 0) throw new RouteBeforePluginError(missed.map((route) => `${methodsOf(route).join(',')} ${route.url}`).join(', '))
  })
}

if (!watch.subscribed) {
  watch.subscribed = true
  subscribe('fastify.initialization', (message) => {
    const fastify = (message as { fastify?: FastifyInstance }).fastify
    if (fastify !== undefined) watchInstance(fastify)
  })
}
