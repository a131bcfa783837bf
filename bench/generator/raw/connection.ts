import { connect, type Socket } from 'node:net'
import { clientFrame, FrameReader, Opcode } from './frames.ts'

const HEAD_END = Buffer.from('\r\n\r\n')

// Every connection reads into this one buffer (net's `onread`): no Buffer allocated and no
// stream event emitted per read, which is most of a client's cost per received frame. It
// is safe because each read is handled synchronously; whatever must outlive the callback
// (a partial frame, a partial response head) is copied.
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024)

export interface RawEvents {
  /** The server answered 101. */
  upgraded (connection: RawConnection): void
  /** A data frame (text or binary) after the upgrade. */
  frame (connection: RawConnection, opcode: number, payload: Buffer): void
  /** The server answered the upgrade with another status. */
  refused (connection: RawConnection, status: number): void
  /** The server sent a close frame (already answered). */
  closing (connection: RawConnection, code: number): void
  /** The TCP connection is gone. */
  ended (connection: RawConnection, error: Error | undefined): void
}

/**
 * A lean WebSocket client on a raw TCP socket: writes a prebuilt upgrade request, reads the
 * status line of the answer, then frames. It answers pings and close frames itself and never
 * closes first: the servers under test do, so TIME_WAIT stays on their side.
 */
export class RawConnection {
  readonly index: number
  readonly socket: Socket
  readonly #events: RawEvents
  readonly #reader = new FrameReader()
  #head: Buffer | undefined = Buffer.alloc(0)
  #error: Error | undefined
  upgraded = false
  status = 0
  closeCode = 0

  constructor (index: number, port: number, localAddress: string | undefined, request: Buffer, events: RawEvents) {
    this.index = index
    this.#events = events
    const socket = connect({
      host: '127.0.0.1',
      port,
      localAddress,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (length: number, buffer: Uint8Array) => {
          // Everything sent in answer to one read (echoes, pongs, close replies) goes out in
          // one write: one syscall instead of one per frame.
          socket.cork()
          this.#onData((buffer as Buffer).subarray(0, length))
          socket.uncork()
          return true
        }
      }
    })
    this.socket = socket
    // Written at once: net queues it until the connection is established.
    socket.write(request)
    socket.on('error', (error) => { this.#error = error })
    socket.on('close', () => { events.ended(this, this.#error) })
  }

  send (frame: Buffer): void {
    if (this.upgraded && this.closeCode === 0 && !this.socket.destroyed) this.socket.write(frame)
  }

  destroy (): void {
    this.socket.destroy()
  }

  #onData (chunk: Buffer): void {
    if (this.#head !== undefined) {
      const head = this.#head.length === 0 ? chunk : Buffer.concat([this.#head, chunk])
      const end = head.indexOf(HEAD_END)
      if (end === -1) {
        this.#head = Buffer.from(head)
        return
      }
      this.#head = undefined
      // "HTTP/1.1 101 ...": the status is always at bytes 9 to 12.
      this.status = Number(head.toString('latin1', 9, 12))
      if (this.status !== 101) {
        this.#events.refused(this, this.status)
        return
      }
      this.upgraded = true
      this.#events.upgraded(this)
      if (head.length > end + 4) this.#reader.push(head.subarray(end + 4), this.#onFrame)
      return
    }
    if (this.upgraded) this.#reader.push(chunk, this.#onFrame)
  }

  readonly #onFrame = (opcode: number, payload: Buffer): void => {
    if (opcode === Opcode.Text || opcode === Opcode.Binary) {
      this.#events.frame(this, opcode, payload)
    } else if (opcode === Opcode.Close) {
      this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005
      // Echo the code back (RFC 6455 §5.5.1); the server then ends the TCP connection.
      this.socket.write(clientFrame(Opcode.Close, payload.subarray(0, 2)))
      this.#events.closing(this, this.closeCode)
    } else if (opcode === Opcode.Ping) {
      this.socket.write(clientFrame(Opcode.Pong, payload))
    }
  }
}
