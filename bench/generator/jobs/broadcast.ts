import { createHistogram, encodeHistogram, recordMs } from '../../shared/histogram.ts'
import type { BroadcastJob, Measurement } from '../../shared/protocol.ts'
import type { GeneratorContext } from '../context.ts'
import { ErrorLog } from '../errors.ts'
import { messageFrame } from '../raw/request.ts'
import { MeasureWindow, sleep, until } from '../window.ts'

/**
 * Broadcast: the pool's first connection publishes, the server sends each publication to
 * every other connection of the route. One publisher and in-order delivery mean that the
 * k-th message a subscriber receives is publication k: its delivery latency is measured
 * from when publication k was sent. At most `window` publications are in flight.
 */
export async function runBroadcast (job: BroadcastJob, context: GeneratorContext): Promise<Measurement> {
  const pool = context.pool(job.pool)
  const publisher = pool.sessions.find((session) => session.open)
  if (publisher === undefined) throw new Error('no open connection to publish on')
  const subscribers = pool.sessions.filter((session) => session.open && session !== publisher).length
  const frame = messageFrame(pool.spec, 'b', 'x'.repeat(job.payloadBytes))
  const received = pool.sessions.map(() => 0)
  const publishedAt: number[] = []
  const remaining: number[] = []
  const histogram = createHistogram()
  const errors = new ErrorLog()
  let completed = 0
  let measuring = false
  let stopping = false
  let ops = 0

  const publish = (): void => {
    publishedAt.push(performance.now())
    remaining.push(subscribers)
    publisher.send(frame)
  }
  pool.onClosing = (session, code) => { errors.add(`connection ${session.index} closed by the server (${code})`) }
  pool.onMessage = (session) => {
    const k = received[session.index] as number
    received[session.index] = k + 1
    const sentAt = publishedAt[k]
    if (sentAt === undefined) {
      errors.add('message without publication')
      return
    }
    if (measuring) {
      ops++
      recordMs(histogram, performance.now() - sentAt)
    }
    const left = (remaining[k] as number) - 1
    remaining[k] = left
    if (left === 0) {
      completed++
      if (!stopping) publish()
    }
  }

  for (let i = 0; i < job.window; i++) publish()
  await sleep(Math.min(100, job.durationMs / 4))
  const window = await MeasureWindow.open(pool.spec.controlPort)
  measuring = true
  await sleep(job.durationMs)
  measuring = false
  const totals = await window.close()
  stopping = true
  if (!await until(() => completed === publishedAt.length, 10_000)) errors.add('publications not delivered to every subscriber 10 s after the window')
  pool.onMessage = () => {}
  return {
    ops,
    ...totals,
    errors: errors.count,
    errorSamples: errors.samples,
    latency: encodeHistogram(histogram),
    extra: { subscribers, publications: publishedAt.length }
  }
}
