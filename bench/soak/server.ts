// The soak's server: one plugin instance, in-memory stores, run with --expose-gc so that
// each sample reads the heap after a full collection.
import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'
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
/** Resident anonymous memory (the heaps, V8's and malloc's) apart from mapped files, from the kernel. */
function rssAnon (): number {
  const match = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))
  return match === null ? NaN : Number(match[1]) * 1024
}

app.get('/sample', async () => {
  collect()
  const memory = process.memoryUsage()
  // What V8 keeps committed, by space: RSS that grows while heapUsed stays flat is either here or in malloc.
  const committed = Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, space.physical_space_size]))
  const metrics = app.wsAuth.metrics()
  const sample = {
    heapUsedAfterGc: memory.heapUsed,
    rss: memory.rss,
    rssAnon: rssAnon(),
    heapTotal: memory.heapTotal,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    heapSpaces: committed,
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
  if (process.env.SOAK_COMPACT === '1') {
    // Diagnosis: one full GC that evacuates every fragmented page, after the sample is read;
    // the pages it frees leave RSS by the next sample (V8 unmaps them in the background).
    setFlagsFromString('--compact-on-every-full-gc')
    collect()
    setFlagsFromString('--no-compact-on-every-full-gc')
  }
  return sample
})
// SOAK_HEAP_PROFILE=path: from 60 s on, sample allocations that outlive a scavenge (those a
// major GC collects included): what fills the old generation with garbage. Written on SIGTERM.
const heapProfile = process.env.SOAK_HEAP_PROFILE ?? ''
if (heapProfile !== '') {
  const { Session } = await import('node:inspector/promises')
  const { writeFileSync } = await import('node:fs')
  const session = new Session()
  session.connect()
  setTimeout(() => {
    session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false }).catch(() => {})
  }, 60_000).unref()
  process.once('SIGTERM', () => {
    session.post('HeapProfiler.stopSampling').then(({ profile }) => {
      writeFileSync(heapProfile, JSON.stringify(profile))
    }).finally(() => process.exit(0))
  })
}

await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
process.stdout.write(`LISTENING ${typeof address === 'object' && address !== null ? address.port : 0}\n`)
