import type { IncomingMessage } from 'node:http'
import { WebSocket } from 'ws'
import { BEARER_SUBPROTOCOL_PREFIX, RESERVED_FRAME_TYPES, SUBPROTOCOL, parseJson } from '../../protocol/index.ts'
import type { Timeline } from '../server/timeline.ts'
import { abbreviate } from '../server/tokens.ts'

export interface Received {
  /** Receipt time, ms since the epoch. */
  at: number
  text: string | undefined
  frame: Record<string, unknown> | undefined
}

const shorten = (text: string): string => text.replace(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, (token) => abbreviate(token))

/** One WebSocket connection of the grader to the server under test, recording both directions. */
export class GraderConnection {
  readonly socket: WebSocket
  readonly received: Received[] = []
  /** The 101's selected subprotocol, once open. */
  protocol: string | undefined
  /** A refused upgrade: status, headers and JSON body. */
  refused: { status: number, headers: IncomingMessage['headers'], body: Record<string, unknown> | undefined } | undefined
  closed: { at: number, code: number, reason: string } | undefined
  readonly done: Promise<void>
  readonly #timeline: Timeline
  #changed: () => void

  constructor (url: string, protocols: string[], timeline: Timeline, changed: () => void, headers: Record<string, string> = {}) {
    this.#timeline = timeline
    this.#changed = changed
    timeline.add('c→s', 'handshake', `GET ${shorten(url)}${protocols.length > 0 ? `, Sec-WebSocket-Protocol: ${protocols.map((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX) ? BEARER_SUBPROTOCOL_PREFIX + abbreviate(p.slice(BEARER_SUBPROTOCOL_PREFIX.length)) : p).join(', ')}` : ''}`)
    // A valid offer (a header value is split into its entries) goes through ws, which then
    // checks the selection; an invalid one (ws would refuse to send it) is written into the
    // header as given. Only offers ws can send can be refused by close and still be read:
    // ws drops a 101 that selects a subprotocol it was not given.
    const entries = protocols.flatMap((p) => p.split(',').map((entry) => entry.trim()))
    const valid = entries.every((p) => /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p)) && new Set(entries).size === entries.length
    this.socket = valid
      ? new WebSocket(url, entries, { headers, perMessageDeflate: false })
      : new WebSocket(url, { headers: { 'sec-websocket-protocol': protocols.join(', '), ...headers }, perMessageDeflate: false })
    this.done = new Promise((resolve) => {
      this.socket.on('upgrade', (response) => {
        this.protocol = response.headers['sec-websocket-protocol'] as string | undefined ?? ''
        timeline.add('s→c', 'http', `101${this.protocol === '' ? '' : `, Sec-WebSocket-Protocol: ${shorten(this.protocol)}`}`)
      })
      this.socket.on('unexpected-response', (_request, response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => {
          const value = parseJson(Buffer.concat(chunks).toString())
          this.refused = { status: response.statusCode ?? 0, headers: response.headers, body: typeof value === 'object' && value !== null ? value as Record<string, unknown> : undefined }
          timeline.add('s→c', 'http', `${response.statusCode ?? 0} ${JSON.stringify(this.refused.body ?? {})}`)
          this.closed = { at: Date.now(), code: 1006, reason: 'refused' }
          this.#changed()
          resolve()
        })
      })
      this.socket.on('message', (data: Buffer, isBinary: boolean) => {
        const text = isBinary ? undefined : data.toString()
        const value = text === undefined ? undefined : parseJson(text)
        const frame = typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' && RESERVED_FRAME_TYPES.has((value as { type: string }).type) ? value as Record<string, unknown> : undefined
        this.received.push({ at: Date.now(), text, frame })
        timeline.add('s→c', isBinary ? 'binary' : 'text', text === undefined ? `binary ${data.length} bytes` : shorten(text))
        this.#changed()
      })
      this.socket.on('close', (code: number, reason: Buffer) => {
        if (this.closed === undefined) {
          this.closed = { at: Date.now(), code, reason: reason.toString() }
          timeline.add('s→c', 'close', `close ${code}${reason.length > 0 ? ` "${reason.toString()}"` : ''}`)
        }
        this.#changed()
        resolve()
      })
      this.socket.on('error', () => {})
    })
  }

  get open (): boolean {
    return this.socket.readyState === WebSocket.OPEN
  }

  /** Protocol frames of `type`, in order. */
  frames (type: string): Array<Record<string, unknown> & { at: number }> {
    return this.received.filter((r) => r.frame?.type === type).map((r) => ({ ...(r.frame as Record<string, unknown>), at: r.at }))
  }

  /** Application messages: everything that is not a protocol frame. */
  get applicationMessages (): Received[] {
    return this.received.filter((r) => r.frame === undefined)
  }

  send (value: string | Record<string, unknown>): void {
    const text = typeof value === 'string' ? value : JSON.stringify(value)
    this.#timeline.add('c→s', 'text', shorten(text))
    if (this.open) this.socket.send(text)
  }

  close (): void {
    if (this.socket.readyState <= WebSocket.OPEN) this.socket.close(1000, 'grader_done')
  }
}

export const offer = (token: string): string[] => [SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${token}`]
