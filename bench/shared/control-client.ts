import { Agent, request } from 'node:http'
import type { CpuSample, LoopDelaySample, MemorySample } from './protocol.ts'

// One kept-alive connection: a control call must not cost the server a handshake.
const agent = new Agent({ keepAlive: true, maxSockets: 1 })

function call<T> (port: number, method: 'GET' | 'POST', path: string, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        try {
          if (res.statusCode !== 200) throw new Error(`control ${path} answered ${String(res.statusCode)}`)
          resolve(JSON.parse(Buffer.concat(chunks).toString()) as T)
        } catch (err) {
          reject(err)
        }
      })
    })
    req.on('timeout', () => { req.destroy(new Error(`control ${path} timed out`)) })
    req.on('error', reject)
    req.end()
  })
}

/** The server process's own view, over its control port (a plain node:http server beside the one under test). */
export const control = {
  cpu: (port: number): Promise<CpuSample> => call<CpuSample>(port, 'GET', '/cpu'),
  /** Runs a full GC several times, then reports `process.memoryUsage()`. */
  gc: (port: number): Promise<MemorySample> => call<MemorySample>(port, 'POST', '/gc'),
  /** The server's event-loop delay since the last reset; starts a new stretch when `reset`. */
  loopDelay: (port: number, reset = false): Promise<LoopDelaySample> => call<LoopDelaySample>(port, 'GET', reset ? '/loop-delay?reset' : '/loop-delay'),
  connections: (port: number): Promise<{ count: number }> => call<{ count: number }>(port, 'GET', '/connections'),
  /** The server closes every WebSocket connection itself, so TIME_WAIT stays on its side. */
  closeAll: (port: number): Promise<{ closed: number }> => call<{ closed: number }>(port, 'POST', '/close-all')
}
