import type { Socket } from 'node:net'
import { TurnSlices } from './turn-slices.ts'

/**
 * Sockets resumed per turn of the loop once a burst is over: resumed all at once, a burst's
 * answers would be read in one poll phase (thousands of closes' worth of work, hundreds of
 * ms), the very stall the slicing avoids.
 */
export const RESUME_SLICE = 32

/**
 * Holds back reading from sockets that the plugin has just closed, while a burst of expiries
 * is being closed slice by slice (deadlines.ts). Whole-second `exp` makes thousands of
 * connections expire in the same millisecond; the deadline queue closes them 256 per turn so
 * the loop keeps turning. Between two slices the loop would read the peers' answers to the
 * close frames already sent (their close frame, their FIN, then the socket's end and close:
 * most of what a close costs), before the next slice's close frames went out: the last
 * connection of a burst would wait for the whole work of every close before it. Held, those
 * answers wait in the kernel's buffers until the burst's last close frame is written, and
 * every close frame leaves as soon as the sending alone allows.
 *
 * Bounded: every held socket is released when the queue has nothing due left (or stops), and
 * a socket never released would still be destroyed by the close timeout (socket-io.ts).
 * Hand-written: neither ws nor Node orders reads across sockets.
 */
export class ClosingReads {
  #held: Socket[] = []
  /** Released sockets not yet resumed; a later burst's holds stay in #held until its own release. */
  readonly #resuming = new TurnSlices<Socket>(RESUME_SLICE, (socket) => { socket.resume() })

  /** Sockets held or waiting to be resumed. */
  get size (): number {
    return this.#held.length + this.#resuming.pending
  }

  /** Stops reading `socket` until {@link release}; a socket paused by ws (backpressure) is left to ws. */
  hold (socket: Socket): void {
    if (socket.destroyed || socket.isPaused()) return
    socket.pause()
    this.#held.push(socket)
  }

  /** Resumes every held socket, {@link RESUME_SLICE} per turn of the loop. */
  release (): void {
    if (this.#held.length === 0) return
    const held = this.#held
    this.#held = []
    this.#resuming.add(held)
  }
}
