// The soak's server: one plugin instance, in-memory stores, run with --expose-gc so that
// each sample reads the heap after a full collection.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import Fastify from 'fastify'
import fastifyWsAuth from '../../plugin/index.ts'

const secret = process.env.SOAK_SECRET
if (secret === undefined) throw new Error('SOAK_SECRET is required')
const collect = (globalThis as { gc?: () => void }).gc
if (collect === undefined) throw new Error('run with --expose-gc')

const loopDelay = monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()

const app = Fastify({ logger: false })
await app.register(fastifyWsAuth, {
  verify: { algorithms: ['HS256'], key: secret },
  maxConnections: 20_000
})
app.get('/ws', { websocket: true, wsAuth: true }, (socket) => {
  socket.on('message', (data, isBinary) => { socket.send(data, { binary: isBinary }) })
})
app.post('/revoke', async (request) => {
  const { sessionId } = request.body as { sessionId: string }
  return { closed: await app.wsAuth.revoke({ sessionId }) }
})
app.get('/sample', async () => {
  collect()
  const memory = process.memoryUsage()
  const metrics = app.wsAuth.metrics()
  const sample = {
    heapUsedAfterGc: memory.heapUsed,
    rss: memory.rss,
    handles: process.getActiveResourcesInfo().length,
    registry: app.wsAuth.size,
    eventLoopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    eventLoopDelayMaxMs: loopDelay.max / 1e6,
    accepted: metrics.accepted,
    renewed: metrics.renewed,
    expired: metrics.expired,
    revoked: metrics.revoked,
    expiryLatenessMs: metrics.expiryLatenessMs
  }
  loopDelay.reset()
  return sample
})
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
process.stdout.write(`LISTENING ${typeof address === 'object' && address !== null ? address.port : 0}\n`)
