import cluster from 'node:cluster'
import { randomBytes } from 'node:crypto'

/**
 * Several instances of the example app behind one port, for trying the Redis scale-out by
 * hand: `REDIS_URL=redis://127.0.0.1:6379 npm run start:cluster`. Node's cluster module
 * hands each incoming connection (and so each WebSocket) to one worker in turn; the
 * workers share nothing but Redis and the signing key given to them here.
 */
const instances = Number(process.env.INSTANCES ?? '3')

if (cluster.isPrimary) {
  if (process.env.REDIS_URL === undefined || process.env.REDIS_URL === '') {
    process.stderr.write('example-app cluster: set REDIS_URL (e.g. redis://127.0.0.1:6379); the instances share their state through it\n')
    process.exit(1)
  }
  if (!Number.isInteger(instances) || instances < 1 || instances > 16) {
    process.stderr.write('example-app cluster: INSTANCES must be an integer from 1 to 16\n')
    process.exit(1)
  }
  // One key for every worker, generated for this run unless JWT_SECRET is set.
  const JWT_SECRET = process.env.JWT_SECRET === undefined || process.env.JWT_SECRET === ''
    ? randomBytes(32).toString('base64url')
    : process.env.JWT_SECRET
  for (let i = 0; i < instances; i++) cluster.fork({ JWT_SECRET, INSTANCE: String(i + 1) })
  cluster.on('exit', (worker, code, signal) => {
    process.stderr.write(`example-app cluster: instance ${worker.id} exited (${signal ?? code})\n`)
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(code === 0 ? 0 : 1)
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => { for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal) })
  }
} else {
  await import('./server.ts')
}
