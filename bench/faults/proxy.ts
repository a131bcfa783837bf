import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy in front of redis-server that can delay every chunk, both ways, by `delayMs`:
 * a slow Redis (or a slow network to it) without touching Redis itself. Order is kept
 * because each direction's chunks are forwarded from one FIFO timer chain.
 */
export class ThrottlingProxy {
  delayMs = 0
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  #target: number

  private constructor (target: number) {
    this.#target = target
    this.#server = createServer((client) => { this.#pipe(client) })
  }

  static async start (target: number): Promise<ThrottlingProxy> {
    const proxy = new ThrottlingProxy(target)
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  get port (): number {
    const address = this.#server.address()
    return typeof address === 'object' && address !== null ? address.port : 0
  }

  #pipe (client: Socket): void {
    const upstream = connect(this.#target, '127.0.0.1')
    this.#sockets.add(client).add(upstream)
    const forward = (from: Socket, to: Socket): void => {
      let chain = Promise.resolve()
      from.on('data', (chunk: Buffer) => {
        // Each chunk is due `delayMs` after it arrived (a latency, not a bandwidth limit).
        const due = Date.now() + this.delayMs
        chain = chain.then(async () => {
          const wait = due - Date.now()
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
          if (!to.destroyed) to.write(chunk)
        })
      })
    }
    forward(client, upstream)
    forward(upstream, client)
    const end = (): void => {
      client.destroy()
      upstream.destroy()
      this.#sockets.delete(client)
      this.#sockets.delete(upstream)
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  }

  async close (): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => { resolve() }))
  }
}
