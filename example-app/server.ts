import { buildApp } from './app.ts'
import { ConfigError, loadConfig } from './config.ts'

let config
try {
  config = loadConfig()
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`example-app: ${error.message}\n`)
  process.exit(1)
}

const app = await buildApp(config)
if (config.generatedSecret) {
  app.log.warn('JWT_SECRET is not set: using a key generated for this run; tokens stop working when the app restarts')
}

let closing = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    // Live sockets are closed with 1001 server_shutdown; a second signal is not waited for.
    app.close().then(() => process.exit(0), (error: unknown) => {
      app.log.error({ err: error }, 'shutdown failed')
      process.exit(1)
    })
  })
}

await app.listen({ host: config.host, port: config.port })
