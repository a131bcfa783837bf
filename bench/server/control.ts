import { createServer, type Server } from 'node:http'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { CpuSample, LoopDelaySample, MemorySample } from '../shared/protocol.ts'
import type { RunningTarget } from './target.ts'

const gc = (globalThis as { gc?: () => void }).gc

async function collect (): Promise<MemorySample> {
  if (gc === undefined) throw new Error('the server runs without --expose-gc')
  // Several passes with turns of the event loop between them, so weak references and
  // finalizers of closed sockets are gone before the heap is read.
  for (let i = 0; i < 4; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  const { heapUsed, heapTotal, external, arrayBuffers, rss } = process.memoryUsage()
  return { heapUsed, heapTotal, external, arrayBuffers, rss }
}

/**
 * The server's own figures, on a separate port of the same process: its CPU time (read by
 * the generator right before and after each measured window), its heap after GC, and its
 * connection count. Only a handful of requests per window, so its cost is negligible.
 */
export async function startControl (target: RunningTarget): Promise<Server> {
  // Sampled all along (one 1 ms timer: negligible next to what is measured); a scenario
  // resets it before the stretch it judges and reads it after.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 })
  loopDelay.enable()
  const ms = (ns: number): number => Math.round(ns / 1e4) / 100
  const server = createServer((req, res) => {
    const reply = (body: unknown): void => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    const fail = (err: unknown): void => {
      res.writeHead(500)
      res.end(String(err))
    }
    try {
      if (req.url === '/cpu') {
        const { user, system } = process.cpuUsage()
        reply({ userUs: user, systemUs: system } satisfies CpuSample)
      } else if (req.url === '/loop-delay' || req.url === '/loop-delay?reset') {
        const sample: LoopDelaySample = { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max), mean: ms(loopDelay.mean), samples: loopDelay.count }
        if (req.url.endsWith('?reset')) loopDelay.reset()
        reply(sample)
      } else if (req.url === '/gc') {
        collect().then(reply, fail)
      } else if (req.url === '/connections') {
        reply({ count: target.connections() })
      } else if (req.url === '/close-all') {
        reply({ closed: target.closeAll() })
      } else if (req.method === 'POST' && req.url?.startsWith('/x/') === true && target.command !== undefined) {
        const command = target.command.bind(target)
        const name = req.url.slice(3)
        const chunks: Buffer[] = []
        req.on('data', (chunk: Buffer) => chunks.push(chunk))
        req.on('end', () => {
          try {
            command(name, chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString())).then(reply, fail)
          } catch (err) {
            fail(err)
          }
        })
      } else {
        res.writeHead(404)
        res.end()
      }
    } catch (err) {
      fail(err)
    }
  })
  server.keepAliveTimeout = 600_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}
