import { createHistogram, recordMs } from '../../shared/histogram.ts'
import type { ExpiryJob, Measurement } from '../../shared/protocol.ts'
import type { GeneratorContext } from '../context.ts'
import { ErrorLog } from '../errors.ts'
import { measurement } from '../measurement.ts'
import { MeasureWindow, until } from '../window.ts'

/**
 * Expiry precision: the pool's connections never renew; each is closed by the server at
 * its own deadline. Lateness is the arrival of the close frame (what a client observes)
 * minus the deadline, both on this machine's clock.
 */
export async function runExpiry (job: ExpiryJob, context: GeneratorContext): Promise<Measurement> {
  const pool = context.pool(job.pool)
  const held = pool.sessions.filter((session) => session.open)
  const histogram = createHistogram()
  const errors = new ErrorLog()
  pool.onMessage = () => {}
  pool.onClosing = () => {}
  const window = await MeasureWindow.open(pool.spec.controlPort)
  if (!await until(() => held.every((session) => session.closingAt !== 0), job.timeoutMs, 50)) {
    errors.add(`${held.filter((session) => session.closingAt === 0).length} connections still open ${job.timeoutMs} ms later`)
  }
  const totals = await window.close()
  let closed = 0
  let early = 0
  for (const session of held) {
    if (session.closingAt === 0) continue
    const code = session.connection.closeCode
    if (code !== 4440) {
      errors.add(`closed with ${code} instead of 4440`)
      continue
    }
    const late = session.closingAt - (job.deadlineAt ?? pool.deadlines[session.index] as number)
    if (late < 0) {
      early++
      errors.add(`closed ${(-late).toFixed(1)} ms before its deadline`)
      continue
    }
    closed++
    recordMs(histogram, late)
  }
  return measurement(closed, totals, errors, histogram, { held: held.length, closed, early })
}
