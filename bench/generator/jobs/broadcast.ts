import { createHistogram, recordMs } from '../../shared/histogram.ts'
import type { BroadcastJob, Measurement } from '../../shared/protocol.ts'
import type { GeneratorContext } from '../context.ts'
import { ErrorLog } from '../errors.ts'
import { measurement } from '../measurement.ts'
import { messageFrame } from '../raw/request.ts'
import { Publications } from '../publications.ts'
import { MeasureWindow, measureSteadyState, until } from '../window.ts'

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
  const publications = new Publications(subscribers)
  const histogram = createHistogram()
  const errors = new ErrorLog()
  let measuring = false
  let stopping = false
  let ops = 0

  const publish = (): void => {
    publications.add(performance.now())
    publisher.send(frame)
  }
  pool.onClosing = (session, code) => { errors.add(`connection ${session.index} closed by the server (${code})`) }
  pool.onMessage = publications.receiver(pool, errors, (sentAt, last) => {
    if (measuring) {
      ops++
      recordMs(histogram, performance.now() - sentAt)
    }
    if (last && !stopping) publish()
  })

  for (let i = 0; i < job.window; i++) publish()
  const totals = await measureSteadyState(job.durationMs, async () => await MeasureWindow.open(pool.spec.controlPort), (on) => { measuring = on })
  stopping = true
  if (!await until(() => publications.allDelivered, 10_000)) errors.add('publications not delivered to every subscriber 10 s after the window')
  pool.onMessage = () => {}
  return measurement(ops, totals, errors, histogram, { subscribers, publications: publications.count })
}
