// One plugin instance of the fault suite, in its own process so that it can be killed with
// SIGKILL. It shares Redis (through the suite's proxy) with the other instances, holds the
// suite's WebSocket clients, and answers the suite's control requests over HTTP.
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import fastifyWsAuth from '../../plugin/index.ts'
import { redisStores } from '../../redis/index.ts'

const env = (name: string): string => {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is required`)
  return value
}

const redis = new Redis(Number(env('FAULTS_REDIS_PORT')), '127.0.0.1', {
  // Quick reconnects and one attempt per command: a fault shows at once instead of queueing.
  retryStrategy: () => 100,
  maxRetriesPerRequest: 1,
  // Longer than a slow-Redis delay, shorter than a SIGSTOP: a frozen Redis fails commands.
  commandTimeout: Number(env('FAULTS_COMMAND_TIMEOUT_MS'))
})
const redisErrors: string[] = []
redis.on('error', (err: Error) => { if (redisErrors.length < 50) redisErrors.push(err.message) })

const app = Fastify({ logger: false })
await app.register(fastifyWsAuth, {
  verify: { algorithms: ['HS256'], key: env('FAULTS_SECRET') },
  maxConnectionsPerSubject: Number(env('FAULTS_MAX_PER_SUBJECT')),
  connectionLimitPolicy: 'refuse',
  handshakeTimeout: 2000,
  ...redisStores({ redis, prefix: env('FAULTS_PREFIX'), leaseMs: Number(env('FAULTS_LEASE_MS')), onError: () => {} })
})
app.get('/ws', { websocket: true, wsAuth: true }, (socket) => {
  socket.on('message', (data, isBinary) => { socket.send(data, { binary: isBinary }) })
})
// revoke() as the application calls it: the suite counts a revocation only when this resolved.
app.post('/revoke', async (request, reply) => {
  const { sessionId, expiresAt } = request.body as { sessionId: string, expiresAt: number }
  try {
    await app.wsAuth.revoke({ sessionId, expiresAt })
    return { ok: true }
  } catch (err) {
    return await reply.code(503).send({ ok: false, error: (err as Error).message })
  }
})
app.get('/stats', async () => {
  const metrics = app.wsAuth.metrics()
  return {
    pid: process.pid,
    connections: app.wsAuth.size,
    metrics,
    redis: redis.status,
    heapUsed: process.memoryUsage().heapUsed,
    handles: process.getActiveResourcesInfo().length
  }
})
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
process.stdout.write(`LISTENING ${typeof address === 'object' && address !== null ? address.port : 0}\n`)
