import { Agent, request } from 'node:http'

// Kept alive, one socket per control port: a command must not cost the server a handshake.
const agent = new Agent({ keepAlive: true, maxSockets: 1 })

/**
 * A target-specific command on a server's control port (`POST /x/<name>`, JSON both ways;
 * see RunningTarget.command): plugin-redis revokes, reports Redis's CPU and subscriptions.
 */
export function controlCommand<T> (port: number, name: string, body: unknown = {}, timeoutMs = 30_000): Promise<T> {
  const payload = Buffer.from(JSON.stringify(body))
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: `/x/${name}`,
      agent,
      timeout: timeoutMs,
      headers: { 'content-type': 'application/json', 'content-length': payload.length }
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        try {
          if (res.statusCode !== 200) throw new Error(`control /x/${name} answered ${String(res.statusCode)}: ${Buffer.concat(chunks).toString().slice(0, 200)}`)
          resolve(JSON.parse(Buffer.concat(chunks).toString()) as T)
        } catch (err) {
          reject(err)
        }
      })
    })
    req.on('timeout', () => { req.destroy(new Error(`control /x/${name} timed out`)) })
    req.on('error', reject)
    req.end(payload)
  })
}
