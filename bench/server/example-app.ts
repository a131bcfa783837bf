import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { BenchKeys } from '../shared/protocol.ts'
import type { RunningTarget } from './target.ts'

/**
 * The example app for the HTTP endpoints. `trustProxy` is on so the load generator can give
 * each request its own `X-Forwarded-For` address: the login limit (10 a minute per address)
 * would otherwise turn a login benchmark into a benchmark of 429 answers, which is measured
 * separately, from one address, on purpose.
 */
export async function startExampleApp (keys: BenchKeys, buildDir: string): Promise<RunningTarget> {
  // Compiled JavaScript, like the plugin (see orchestrator/build.ts).
  const load = async <T>(file: string): Promise<T> => await import(pathToFileURL(join(buildDir, 'example-app', file)).href) as T
  const { buildApp } = await load<typeof import('../../example-app/app.ts')>('app.js')
  const { loadConfig } = await load<typeof import('../../example-app/config.ts')>('config.js')
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', JWT_SECRET: keys.hmacSecret })
  const app = await buildApp(config, { fastify: { logger: false, trustProxy: true } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    connections: () => app.wsAuth.size,
    closeAll: () => app.wsAuth.close({ subject: 'alice' }),
    close: () => app.close()
  }
}
