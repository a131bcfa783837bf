import { createHistogram, recordMs } from '../../shared/histogram.ts'
import type { Measurement, RenewalJob, StormJob } from '../../shared/protocol.ts'
import type { GeneratorContext, Pool } from '../context.ts'
import { ErrorLog } from '../errors.ts'
import { measurement } from '../measurement.ts'
import { clientFrame, Opcode } from '../raw/frames.ts'
import { MeasureWindow, measureSteadyState, until } from '../window.ts'

const RENEWED = Buffer.from('{"type":"renewed"')
/** Distinct tokens per connection, cycled: every renewal verifies a token it has not just seen. */
const RING = 16

const rings = new WeakMap<Pool, Buffer[][]>()

/**
 * `renew` frames for each connection: same subject, session and `exp` as the token it
 * authenticated with (a renewal may not move the deadline back), a new `jti` each.
 */
function renewFrames (pool: Pool, context: GeneratorContext, perSession: number): Buffer[][] {
  const cached = rings.get(pool)
  if (cached !== undefined && (cached[0]?.length ?? 0) >= perSession) return cached
  const factory = context.tokens(pool.spec.algorithm)
  const frames = pool.claims.map((claims) => Array.from({ length: perSession }, () =>
    clientFrame(Opcode.Text, JSON.stringify({ type: 'renew', token: factory.sign({ sub: claims.sub, sid: claims.sid, exp: claims.exp }), id: 'r' }))))
  rings.set(pool, frames)
  return frames
}

const isRenewed = (payload: Buffer): boolean => payload.subarray(0, RENEWED.length).equals(RENEWED)

/** Renewal capacity: every connection renews, waits for `renewed`, renews again. */
export async function runRenewal (job: RenewalJob, context: GeneratorContext): Promise<Measurement> {
  const pool = context.pool(job.pool)
  const frames = renewFrames(pool, context, RING)
  const sessions = pool.sessions.filter((session) => session.open)
  const sentAt = pool.sessions.map(() => 0)
  const turn = pool.sessions.map(() => 0)
  const histogram = createHistogram()
  const errors = new ErrorLog()
  let measuring = false
  let stopping = false
  let inFlight = 0
  let ops = 0

  const renew = (index: number): void => {
    const ring = frames[index] as Buffer[]
    const n = turn[index] as number
    turn[index] = n + 1
    sentAt[index] = performance.now()
    inFlight++
    pool.sessions[index]?.send(ring[n % ring.length] as Buffer)
  }
  pool.onClosing = (session, code) => { errors.add(`connection ${session.index} closed by the server (${code})`) }
  pool.onMessage = (session, payload) => {
    inFlight--
    if (measuring) {
      if (!job.expectRenewed || isRenewed(payload)) {
        ops++
        recordMs(histogram, performance.now() - (sentAt[session.index] as number))
      } else {
        errors.add(payload.toString().slice(0, 120))
      }
    }
    if (!stopping) renew(session.index)
  }

  for (const session of sessions) renew(session.index)
  const totals = await measureSteadyState(job.durationMs, async () => await MeasureWindow.open(pool.spec.controlPort), (on) => { measuring = on })
  stopping = true
  if (!await until(() => inFlight === 0, 10_000)) errors.add(`${inFlight} renewals unanswered 10 s after the window`)
  pool.onMessage = () => {}
  return measurement(ops, totals, errors, histogram, {})
}

/**
 * Renewal storm: every held connection renews once, at a uniformly random moment of
 * `windowMs`. Latency runs from the moment the renewal was due to its `renewed` frame.
 */
export async function runStorm (job: StormJob, context: GeneratorContext): Promise<Measurement> {
  const pool = context.pool(job.pool)
  const frames = renewFrames(pool, context, 1)
  const sessions = pool.sessions.filter((session) => session.open)
  const schedule = sessions.map((session) => ({ index: session.index, at: Math.random() * job.windowMs })).sort((a, b) => a.at - b.at)
  const dueAt = pool.sessions.map(() => 0)
  const histogram = createHistogram()
  const errors = new ErrorLog()
  let renewed = 0
  let answered = 0
  let lastReplyMs = 0

  const window = await MeasureWindow.open(pool.spec.controlPort)
  const started = performance.now()
  pool.onClosing = (session, code) => { errors.add(`connection ${session.index} closed by the server (${code})`) }
  pool.onMessage = (session, payload) => {
    const now = performance.now()
    answered++
    lastReplyMs = now - started
    if (isRenewed(payload)) {
      renewed++
      recordMs(histogram, now - started - (dueAt[session.index] as number))
    } else {
      errors.add(payload.toString().slice(0, 120))
    }
  }
  let sent = 0
  // The generator's core is its own: poll on setImmediate for sub-millisecond scheduling.
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const elapsed = performance.now() - started
      while (sent < schedule.length && (schedule[sent]?.at as number) <= elapsed) {
        const { index, at } = schedule[sent] as { index: number, at: number }
        dueAt[index] = at
        pool.sessions[index]?.send((frames[index] as Buffer[])[0] as Buffer)
        sent++
      }
      if (sent < schedule.length) setImmediate(tick)
      else resolve()
    }
    tick()
  })
  if (!await until(() => answered >= sent, job.timeoutMs)) errors.add(`${sent - answered} renewals unanswered after ${job.timeoutMs} ms`)
  const totals = await window.close()
  pool.onMessage = () => {}
  return measurement(renewed, totals, errors, histogram, { held: sessions.length, renewed, lastReplyMs, windowMs: job.windowMs, busyPoll: 1 })
}
