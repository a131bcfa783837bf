import { control } from '../../shared/control-client.ts'
import { controlCommand } from '../../shared/control-command.ts'
import { createHistogram, recordMs } from '../../shared/histogram.ts'
import type { FeedJob, Measurement, RevokeJob } from '../../shared/protocol.ts'
import type { GeneratorContext, Pool } from '../context.ts'
import { ErrorLog } from '../errors.ts'
import { measurement } from '../measurement.ts'
import { messageFrame } from '../raw/request.ts'
import type { Session } from '../raw/session.ts'
import { Publications } from '../publications.ts'
import { sendPaced } from '../pacing.ts'
import { MeasureWindow, measureSteadyState, until } from '../window.ts'

/** The plugin's close code for a revoked credential (`credential_revoked`). */
const REVOKED = 4441

/** CPU time of every instance plus the redis-server (reported by the first instance), µs. */
async function clusterCpuUs (ports: readonly number[]): Promise<number> {
  const [instances, redis] = await Promise.all([
    Promise.all(ports.map((port) => control.cpu(port))),
    controlCommand<{ us: number }>(ports[0] as number, 'redis-cpu')
  ])
  return instances.reduce((sum, cpu) => sum + cpu.userUs + cpu.systemUs, 0) + redis.us
}

/** A measured window over a cluster: its "server" CPU is that of every instance and the redis-server, all on the server core. */
async function clusterWindow (ports: readonly number[]): Promise<MeasureWindow> {
  return await MeasureWindow.over(async () => await clusterCpuUs(ports))
}

/** The open sessions of several pools, taken from each pool in turn. */
function interleave (pools: readonly Pool[]): Array<{ pool: Pool, session: Session }> {
  const lists = pools.map((pool) => pool.sessions.filter((session) => session.open))
  const out: Array<{ pool: Pool, session: Session }> = []
  for (let i = 0; i < Math.max(0, ...lists.map((list) => list.length)); i++) {
    lists.forEach((list, p) => {
      const session = list[i]
      if (session !== undefined) out.push({ pool: pools[p] as Pool, session })
    })
  }
  return out
}

/**
 * Revocation latency: `batch` sessions per call to the revoking instance, one call at a
 * time, each waiting for its connections' close frames (and the call's answer) before the
 * next. Every connection has a session of its own; the latency of each runs from sending
 * the call to its close frame (4441), on this process's clock, so it includes one loopback
 * HTTP request to the revoking instance's control port.
 */
export async function runRevoke (job: RevokeJob, context: GeneratorContext): Promise<Measurement> {
  const pools = job.pools.map((name) => context.pool(name))
  const targets = interleave(pools)
  const histogram = createHistogram()
  const errors = new ErrorLog()
  const waiting = new Map<Session, (at: number) => void>()
  for (const pool of pools) {
    // The `auth_error` (credential_revoked) frame that precedes the close.
    pool.onMessage = () => {}
    pool.onClosing = (session, code) => {
      const at = performance.now()
      if (code !== REVOKED) errors.add(`closed with ${code} instead of ${REVOKED}`)
      const wake = waiting.get(session)
      if (wake === undefined) {
        errors.add('closed without having been revoked')
        return
      }
      waiting.delete(session)
      wake(at)
    }
  }
  let ops = 0
  let closedByRevoker = 0
  const window = await clusterWindow(job.cpuControlPorts)
  for (let i = 0; i < targets.length; i += job.batch) {
    const group = targets.slice(i, i + job.batch)
    const closes = group.map(({ session }) => new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(session)
        resolve(undefined)
      }, job.timeoutMs)
      waiting.set(session, (at) => {
        clearTimeout(timer)
        resolve(at)
      })
    }))
    const sessionIds = group.map(({ pool, session }) => (pool.claims[session.index] as { sid: string }).sid)
    const sentAt = performance.now()
    const [times, answer] = await Promise.all([
      Promise.all(closes),
      controlCommand<{ closed: number }>(job.viaControlPort, 'revoke', { sessionIds }, job.timeoutMs).catch((err: unknown) => {
        errors.add(`revoke call failed: ${(err as Error).message}`)
        return { closed: 0 }
      })
    ])
    closedByRevoker += answer.closed
    for (const at of times) {
      if (at === undefined) {
        errors.add(`not closed ${job.timeoutMs} ms after its revocation`)
      } else {
        ops++
        recordMs(histogram, at - sentAt)
      }
    }
  }
  const totals = await window.close()
  for (const pool of pools) pool.onClosing = () => {}
  return measurement(ops, totals, errors, histogram, { revoked: targets.length, closed: ops, closedByRevokingInstance: closedByRevoker })
}

/**
 * Feed fan-out: each publication is sent on every publisher connection (one per pool: the
 * in-process baseline publishes on each instance, the Redis variant on one), and every
 * subscriber must receive it. Publications reach a subscriber in order, so its k-th message
 * is publication k: delivery latency runs from when publication k was sent. Capacity: at
 * most `window` publications in flight. Paced: `rate` publications per second whatever the
 * deliveries, latency from when each was due (no coordinated omission).
 */
export async function runFeed (job: FeedJob, context: GeneratorContext): Promise<Measurement> {
  const publishers = job.publishers.map((name) => {
    const pool = context.pool(name)
    const session = pool.sessions.find((s) => s.open)
    if (session === undefined) throw new Error(`no open connection to publish on in ${name}`)
    return { pool, session }
  })
  const pools = job.subscribers.map((name) => context.pool(name))
  const subscribers = pools.reduce((n, pool) => n + pool.sessions.filter((session) => session.open).length, 0)
  if (subscribers === 0) throw new Error('no open subscriber')
  const frame = messageFrame((pools[0] as Pool).spec, 'f', 'x'.repeat(job.payloadBytes))
  const publications = new Publications(subscribers)
  const histogram = createHistogram()
  const errors = new ErrorLog()
  let measuring = false
  let stopping = false
  let ops = 0

  const publish = (dueAt = performance.now()): void => {
    publications.add(dueAt)
    for (const { session } of publishers) session.send(frame)
  }
  for (const { pool } of publishers) {
    pool.onMessage = (session) => { errors.add(`publisher ${session.index} received a message`) }
    pool.onClosing = (session, code) => { errors.add(`publisher ${session.index} closed by the server (${code})`) }
  }
  for (const pool of pools) {
    pool.onClosing = (session, code) => { errors.add(`subscriber ${session.index} closed by the server (${code})`) }
    pool.onMessage = publications.receiver(pool, errors, (sentAt, last) => {
      if (measuring) {
        ops++
        recordMs(histogram, performance.now() - sentAt)
      }
      if (last && job.rate === 0 && !stopping) publish()
    })
  }

  if (job.rate === 0) {
    for (let i = 0; i < job.window; i++) publish()
  } else {
    // Publication k is due at started + k × interval (the first at once): sent as soon as it is due.
    sendPaced(job.rate, () => stopping, (_, dueAt) => { publish(dueAt) })
  }
  const totals = await measureSteadyState(job.durationMs, async () => await clusterWindow(job.cpuControlPorts), (on) => { measuring = on })
  stopping = true
  if (!await until(() => publications.allDelivered, 10_000)) errors.add('publications not delivered to every subscriber 10 s after the window')
  for (const pool of pools) pool.onMessage = () => {}
  for (const { pool } of publishers) pool.onMessage = () => {}
  return measurement(ops, totals, errors, histogram, job.rate === 0
    ? { subscribers, publishers: publishers.length, publications: publications.count }
    : { subscribers, publishers: publishers.length, publications: publications.count, busyPoll: 1 })
}
