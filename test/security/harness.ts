import { randomBytes } from 'node:crypto'
import { connect as tcpConnect, type Socket } from 'node:net'
import type { Test } from 'tap'
import { bearer, connect, sign, type RunningServer, type TestClient } from '../helpers.ts'

/** Every adversarial case ends with this: the server still authenticates a good client. */
export async function stillServing (t: Test, server: RunningServer, options: { headers?: Record<string, string>, claims?: Record<string, unknown> } = {}): Promise<void> {
  const canary = connect(server.url, bearer(sign({ sub: 'canary', ...options.claims })), { headers: options.headers })
  const frame = await canary.frame('authenticated')
  t.equal(frame.subject, 'canary', 'the server still serves other clients')
  canary.close()
  await canary.closed
}

export async function refusedWith (t: Test, client: TestClient, status: number, code: string): Promise<void> {
  const { status: actual, body } = await client.refused
  t.equal(actual, status, `HTTP ${status}`)
  t.match(body, { statusCode: status, code }, code)
}

/**
 * The handshake's answer: the refusal's status and body, or 101 with the selected
 * subprotocol. Unlike {@link refusedWith} it settles when the upgrade succeeds, so a test
 * whose refusal regressed fails at once, showing what was selected.
 */
export async function answerOf (client: TestClient): Promise<{ status: number, body: unknown, protocol?: string }> {
  const opened = client.opened.then(() => {
    const protocol = client.socket.protocol
    client.socket.terminate()
    return { status: 101, body: undefined, protocol }
  })
  return await Promise.race([client.refused, opened])
}

export async function closedWith (t: Test, client: TestClient, closeCode: number, reason: string): Promise<void> {
  t.same(await client.closed, { code: closeCode, reason }, `closed ${closeCode} ${reason}`)
}

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
  socket: Socket
  /** Bytes received after the response head (frames, after a 101). */
  rest: Buffer
}

/**
 * An upgrade request written byte by byte, for what `ws` and `http` refuse to send
 * (illegal subprotocol characters, duplicate headers, huge headers, unmasked frames).
 */
export function rawUpgrade (url: string, headerLines: string[], path = '/ws'): Promise<RawResponse> {
  const { port, hostname } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(port), hostname.replace(/^\[(.*)\]$/, '$1'))
    let buffer = Buffer.alloc(0)
    let head: Omit<RawResponse, 'rest' | 'body' | 'socket'> | undefined
    let bodyStart = 0
    const finish = (): void => {
      socket.removeAllListeners('data')
      if (head === undefined) {
        reject(new Error(`no response head: ${buffer.toString()}`))
        return
      }
      const rest = buffer.subarray(bodyStart)
      resolve({ ...head, body: head.status === 101 ? '' : rest.toString(), socket, rest })
    }
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      if (head === undefined) {
        const end = buffer.indexOf('\r\n\r\n')
        if (end === -1) return
        const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n')
        const headers: Record<string, string> = {}
        for (const line of lines) {
          const colon = line.indexOf(':')
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
        }
        head = { status: Number((statusLine as string).split(' ')[1]), headers }
        bodyStart = end + 4
      }
      if (head.status === 101) {
        finish()
        return
      }
      const length = Number(head.headers['content-length'] ?? 0)
      if (buffer.length - bodyStart >= length) finish()
    })
    socket.on('close', () => { if (head === undefined) finish() })
    socket.write([
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      ...headerLines,
      '',
      ''
    ].join('\r\n'))
  })
}

/** A WebSocket frame as a client would (masked) or must not (unmasked) send it. */
export function encodeFrame (opcode: number, payload: Buffer, options: { mask?: boolean, fin?: boolean } = {}): Buffer {
  const mask = options.mask ?? true
  const fin = options.fin ?? true
  const length = payload.length
  const header = [((fin ? 0x80 : 0) | opcode)]
  const maskBit = mask ? 0x80 : 0
  if (length < 126) header.push(maskBit | length)
  else if (length < 65536) header.push(maskBit | 126, length >> 8, length & 0xff)
  else throw new Error('frame too long for this helper')
  if (!mask) return Buffer.concat([Buffer.from(header), payload])
  const key = randomBytes(4)
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (key[i % 4] as number)))
  return Buffer.concat([Buffer.from(header), key, masked])
}

/** Reads server frames from a raw socket until a close frame; resolves with its code. */
export function closeCodeOf (response: RawResponse): Promise<number | undefined> {
  return new Promise((resolve) => {
    let buffer = response.rest
    const scan = (): boolean => {
      while (buffer.length >= 2) {
        const opcode = (buffer[0] as number) & 0x0f
        let length = (buffer[1] as number) & 0x7f
        let offset = 2
        if (length === 126) {
          if (buffer.length < 4) return false
          length = buffer.readUInt16BE(2)
          offset = 4
        }
        if (buffer.length < offset + length) return false
        if (opcode === 0x8) {
          resolve(length >= 2 ? buffer.readUInt16BE(offset) : 1005)
          return true
        }
        buffer = buffer.subarray(offset + length)
      }
      return false
    }
    if (scan()) return
    response.socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      scan()
    })
    response.socket.on('close', () => { resolve(undefined) })
  })
}

export const bearerHeader = (token: string): string => `Sec-WebSocket-Protocol: wsauth.v1, wsauth.bearer.${token}`
