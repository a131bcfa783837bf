import { createHistogram, recordMs } from '../../shared/histogram.ts'
import type { EchoJob, Measurement } from '../../shared/protocol.ts'
import type { GeneratorContext } from '../context.ts'
import { ErrorLog } from '../errors.ts'
import { measurement } from '../measurement.ts'
import { messageFrame } from '../raw/request.ts'
import type { Session } from '../raw/session.ts'
import { sendPaced } from '../pacing.ts'
import { MeasureWindow, measureSteadyState, until } from '../window.ts'

/**
 * Echo on the pool's connections. Replies arrive in order on each connection, so a FIFO
 * of send times per connection gives every message's round trip without parsing it.
 *
 * `saturate` keeps `window` messages in flight per connection (capacity). `paced` sends
 * `rate` messages/s in total whatever the replies (open loop), and measures each latency
 * from the moment the message was due, so a stalled server is not hidden by a stalled
 * sender (no coordinated omission).
 */
export async function runEcho (job: EchoJob, context: GeneratorContext): Promise<Measurement> {
  const pool = context.pool(job.pool)
  const sessions = pool.sessions.filter((session) => session.open)
  const frame = messageFrame(pool.spec, 'e', 'x'.repeat(job.payloadBytes))
  const queues: number[][] = pool.sessions.map(() => [])
  const histogram = createHistogram()
  const errors = new ErrorLog()
  let measuring = false
  let stopping = false
  let ops = 0

  pool.onClosing = (session, code) => { errors.add(`connection ${session.index} closed by the server (${code})`) }
  pool.onMessage = (session) => {
    const queue = queues[session.index] as number[]
    const sentAt = queue.shift()
    const now = performance.now()
    if (sentAt === undefined) {
      errors.add('unexpected message')
      return
    }
    if (measuring) {
      ops++
      recordMs(histogram, now - sentAt)
    }
    if (job.mode === 'saturate' && !stopping) {
      queue.push(now)
      session.send(frame)
    }
  }

  if (job.mode === 'saturate') {
    const now = performance.now()
    for (const session of sessions) {
      for (let i = 0; i < job.window; i++) {
        (queues[session.index] as number[]).push(now)
        session.send(frame)
      }
    }
  } else if (sessions.length > 0) {
    // Round robin over the connections, each message timed from when it was due.
    sendPaced(job.rate, () => stopping, (n, dueAt) => {
      const session = sessions[n % sessions.length] as Session
      ;(queues[session.index] as number[]).push(dueAt)
      session.send(frame)
    })
  }

  const totals = await measureSteadyState(job.durationMs, async () => await MeasureWindow.open(pool.spec.controlPort), (on) => { measuring = on })
  stopping = true
  if (!await until(() => queues.every((queue) => queue.length === 0), 10_000)) {
    errors.add(`${queues.reduce((n, queue) => n + queue.length, 0)} echoes missing 10 s after the window`)
  }
  pool.onMessage = () => {}
  return measurement(ops, totals, errors, histogram, job.mode === 'paced' ? { busyPoll: 1 } : {})
}
