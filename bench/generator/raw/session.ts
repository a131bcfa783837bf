import type { ClientSpec, Dialect } from '../../shared/protocol.ts'
import { RawConnection, type RawEvents } from './connection.ts'
import { clientFrame, Opcode } from './frames.ts'

export interface SessionEvents {
  /** Authenticated (plugin: `authenticated` received; socket.io: CONNECT acknowledged; bare: upgraded). */
  ready (session: Session): void
  /** An application message after `ready`. */
  message (session: Session, payload: Buffer): void
  /** Refused: `status <n>` before the upgrade, or `auth_error` / `connect_error` after it. */
  refused (session: Session, reason: string): void
  /** The server sent a close frame. */
  closing (session: Session, code: number): void
  ended (session: Session, error: Error | undefined): void
}

const AUTHENTICATED = Buffer.from('{"type":"authenticated"')
const AUTH_ERROR = Buffer.from('{"type":"auth_error"')
const PONG = clientFrame(Opcode.Text, '3')
const CHAR_0 = 0x30
const CHAR_2 = 0x32
const CHAR_4 = 0x34

/**
 * One client connection speaking a target's dialect on top of a {@link RawConnection}:
 * what "authenticated" looks like, and which frames are application messages.
 */
export class Session {
  readonly index: number
  readonly dialect: Dialect
  readonly connection: RawConnection
  readonly #events: SessionEvents
  readonly #connectPacket: Buffer | undefined
  /** performance.now() when the connection was started. */
  readonly startedAt = performance.now()
  ready = false
  refusal: string | undefined
  /** Epoch ms (sub-millisecond) when the server's close frame arrived. */
  closingAt = 0

  constructor (index: number, spec: ClientSpec, request: Buffer, connectPacket: Buffer | undefined, localAddress: string | undefined, events: SessionEvents) {
    this.index = index
    this.dialect = spec.dialect
    this.#events = events
    this.#connectPacket = connectPacket
    this.connection = new RawConnection(index, spec.port, localAddress, request, this.#raw)
  }

  send (frame: Buffer): void {
    this.connection.send(frame)
  }

  get open (): boolean {
    return this.ready && this.connection.closeCode === 0 && !this.connection.socket.destroyed
  }

  #refuse (reason: string): void {
    if (this.refusal !== undefined) return
    this.refusal = reason
    this.#events.refused(this, reason)
  }

  readonly #raw: RawEvents = {
    upgraded: () => {
      if (this.dialect !== 'bare') return
      this.ready = true
      this.#events.ready(this)
    },
    frame: (_connection, _opcode, payload) => {
      if (this.dialect === 'socketio') {
        this.#socketIoPacket(payload)
      } else if (this.ready) {
        this.#events.message(this, payload)
      } else if (payload.subarray(0, AUTHENTICATED.length).equals(AUTHENTICATED)) {
        this.ready = true
        this.#events.ready(this)
      } else if (payload.subarray(0, AUTH_ERROR.length).equals(AUTH_ERROR)) {
        this.#refuse('auth_error')
      } else {
        this.#refuse(`unexpected first frame ${payload.toString().slice(0, 60)}`)
      }
    },
    refused: (_connection, status) => { this.#refuse(`status ${status}`) },
    closing: (_connection, code) => {
      // The wall clock, as the deadlines it is compared with (`exp`, signed from Date.now()):
      // performance.timeOrigin + performance.now() is the start time plus the monotonic clock,
      // which does not follow steps of the wall clock: in the full run of 2026-12-02, half an
      // hour into the generator's life, every 4440 close came out about 9.2 s "before" its deadline.
      this.closingAt = Date.now()
      this.#events.closing(this, code)
    },
    ended: (_connection, error) => { this.#events.ended(this, error) }
  }

  // Engine.IO v4 packet types: 0 open, 2 ping, 4 message; Socket.IO inside a message:
  // 0 CONNECT, 1 DISCONNECT, 2 EVENT, 4 CONNECT_ERROR.
  #socketIoPacket (payload: Buffer): void {
    const type = payload.length > 0 ? payload.readUInt8(0) : -1
    if (type === CHAR_0) {
      if (this.#connectPacket !== undefined) this.connection.send(this.#connectPacket)
    } else if (type === CHAR_2) {
      this.connection.send(PONG)
    } else if (type === CHAR_4 && payload.length > 1) {
      const inner = payload.readUInt8(1)
      if (inner === CHAR_2) {
        if (this.ready) this.#events.message(this, payload)
      } else if (inner === CHAR_0 && !this.ready) {
        this.ready = true
        this.#events.ready(this)
      } else if (inner === CHAR_4) {
        this.#refuse('connect_error')
      }
    }
  }
}
