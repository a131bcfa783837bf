import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import type { ServerFrame } from './invariants.ts'

// A client written on a TCP socket: what `ws` would refuse to send (illegal headers, bad
// frames, fragments in any shape), and every byte the server answers, close frame included.

export interface Response {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

export interface WireClientOptions {
  readonly port: number
  readonly path: string
  readonly headerLines: readonly string[]
  /** Longest wait for any one answer; a case that needs longer fails as stuck. */
  readonly timeoutMs: number
}

const MAX_BUFFER = 4 * 1024 * 1024

/** One RFC 6455 frame as a client sends it. */
export function encodeClientFrame (opcode: number, payload: Buffer, options: { fin?: boolean, mask?: boolean, rsv?: number } = {}): Buffer {
  const fin = options.fin ?? true
  const mask = options.mask ?? true
  const head: number[] = [(fin ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode]
  const maskBit = mask ? 0x80 : 0
  const length = payload.length
  if (length < 126) head.push(maskBit | length)
  else if (length < 65_536) head.push(maskBit | 126, length >> 8, length & 0xff)
  else head.push(maskBit | 127, 0, 0, 0, 0, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff)
  if (!mask) return Buffer.concat([Buffer.from(head), payload])
  const key = randomBytes(4)
  const masked = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) masked[i] = (payload[i] as number) ^ (key[i & 3] as number)
  return Buffer.concat([Buffer.from(head), key, masked])
}

export class WireClient {
  readonly socket: Socket
  readonly frames: ServerFrame[] = []
  response: Response | undefined
  closed = false
  /** The code of the close frame this client sent first, if it did. */
  clientClose: number | undefined
  #buffer: Buffer = Buffer.alloc(0)
  #waiters: Array<() => void> = []
  readonly #timeoutMs: number

  constructor (options: WireClientOptions) {
    this.#timeoutMs = options.timeoutMs
    this.socket = connect(options.port, '127.0.0.1')
    this.socket.setNoDelay(true)
    this.socket.on('error', () => {})
    this.socket.on('data', (chunk: Buffer) => { this.#read(chunk) })
    this.socket.on('close', () => {
      this.closed = true
      this.#wake()
    })
    this.socket.write([
      `GET ${options.path} HTTP/1.1`,
      `Host: 127.0.0.1:${options.port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      ...options.headerLines,
      '',
      ''
    ].join('\r\n'))
  }

  #wake (): void {
    for (const wake of this.#waiters.splice(0)) wake()
  }

  #read (chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
    if (this.#buffer.length > MAX_BUFFER) this.socket.destroy()
    if (this.response === undefined) {
      const end = this.#buffer.indexOf('\r\n\r\n')
      if (end === -1) return
      const [statusLine, ...lines] = this.#buffer.subarray(0, end).toString('latin1').split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
      }
      const status = Number((statusLine as string).split(' ')[1])
      const rest = this.#buffer.subarray(end + 4)
      if (status !== 101) {
        const length = Number(headers['content-length'] ?? rest.length)
        if (rest.length < length) return
        this.response = { status, headers, body: rest.subarray(0, length).toString() }
        this.#buffer = Buffer.alloc(0)
        this.socket.end()
        this.#wake()
        return
      }
      this.response = { status, headers, body: '' }
      this.#buffer = rest
    }
    this.#parseFrames()
    this.#wake()
  }

  #parseFrames (): void {
    let buffer = this.#buffer
    while (buffer.length >= 2) {
      const opcode = (buffer[0] as number) & 0x0f
      let length = (buffer[1] as number) & 0x7f
      let offset = 2
      if (length === 126) {
        if (buffer.length < 4) break
        length = buffer.readUInt16BE(2)
        offset = 4
      } else if (length === 127) {
        if (buffer.length < 10) break
        length = Number(buffer.readBigUInt64BE(2))
        offset = 10
      }
      if (buffer.length < offset + length) break
      const payload = Buffer.from(buffer.subarray(offset, offset + length))
      this.frames.push({ opcode, payload })
      buffer = buffer.subarray(offset + length)
      // Completes the closing handshake the way a well-behaved client does.
      if (opcode === 0x8 && this.clientClose === undefined && !this.socket.destroyed) {
        this.socket.write(encodeClientFrame(0x8, payload.subarray(0, 2)))
        this.socket.end()
      }
    }
    this.#buffer = buffer
  }

  /** Resolves once `ready()` holds, the socket closed, or the timeout passed (then false). */
  async until (ready: () => boolean): Promise<boolean> {
    const deadline = Date.now() + this.#timeoutMs
    while (!ready()) {
      if (this.closed) return ready()
      const left = deadline - Date.now()
      if (left <= 0) return false
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    return true
  }

  get serverClosed (): boolean {
    return this.frames.some((frame) => frame.opcode === 0x8)
  }

  write (bytes: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes)
  }

  /** A ping, then its pong: everything sent before it has been handled by then (ws handles a socket's frames in order). */
  async roundTrip (): Promise<boolean> {
    if (this.serverClosed || this.closed) return true
    const marker = randomBytes(8)
    this.write(encodeClientFrame(0x9, marker))
    return await this.until(() => this.serverClosed || this.frames.some((f) => f.opcode === 0xa && f.payload.equals(marker)))
  }

  /** Ends the connection as a client would (1000), and waits for the server's close. */
  async finish (): Promise<boolean> {
    if (!this.serverClosed && !this.closed) {
      this.clientClose = 1000
      const payload = Buffer.alloc(2)
      payload.writeUInt16BE(1000)
      this.write(encodeClientFrame(0x8, payload))
    }
    const done = await this.until(() => this.closed)
    this.socket.destroy()
    return done
  }
}
