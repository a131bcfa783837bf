import { control } from '../../shared/control-client.ts'
import type { ClosePoolJob, OpenPoolJob, PoolResult } from '../../shared/protocol.ts'
import { localAddress, nowSeconds, userClaims, type GeneratorContext, type Pool } from '../context.ts'
import { ErrorLog } from '../errors.ts'
import { connectPacket, upgradeRequest } from '../raw/request.ts'
import { Session, type SessionEvents } from '../raw/session.ts'
import { until } from '../window.ts'

/**
 * Opens `count` authenticated connections and keeps them for the jobs that follow
 * (at most `concurrency` handshakes in flight, so the server is not flooded with SYNs).
 * Each connection is its own user and session, with its own token and deadline.
 */
export async function openPool (job: OpenPoolJob, context: GeneratorContext): Promise<PoolResult> {
  if (context.pools.has(job.pool)) throw new Error(`pool ${job.pool} is already open`)
  const spec = job.client
  const factory = context.tokens(spec.algorithm)
  const errors = new ErrorLog()
  const started = performance.now()
  const base = nowSeconds() + job.ttlSeconds
  const spreadS = (job.deadlineSpreadMs ?? 0) / 1000
  const pool: Pool = {
    spec,
    sessions: [],
    claims: [],
    deadlines: [],
    ended: 0,
    onMessage: () => {},
    onClosing: () => {}
  }
  let settled = 0
  let next = 0
  const events: SessionEvents = {
    ready: () => { settled++; launch() },
    refused: (_session, reason) => { settled++; errors.add(reason); launch() },
    message: (session, payload) => { pool.onMessage(session, payload) },
    closing: (session, code) => { pool.onClosing(session, code) },
    ended: (session, error) => {
      pool.ended++
      if (!session.ready && session.refusal === undefined) {
        settled++
        errors.add(error?.message ?? 'closed before authentication')
        launch()
      }
    }
  }
  const launch = (): void => {
    if (next >= job.count) return
    const index = next++
    const exp = base + Math.random() * spreadS
    const claims = userClaims(index, job.wholeSeconds === true ? Math.ceil(exp) : exp)
    if (job.sessionPrefix !== undefined) {
      claims.sub = `${job.sessionPrefix}${claims.sub}`
      claims.sid = `${job.sessionPrefix}${claims.sid}`
    }
    const token = factory.sign(claims)
    pool.claims.push(claims)
    // The deadline as SPEC §1 defines it (the bench's plugin has no clock tolerance): `exp` in
    // ms rounded down, so up to a millisecond before a fractional `exp`. Measured against the
    // unrounded `exp`, a close on time would count as early.
    pool.deadlines.push(Math.floor(claims.exp * 1000))
    pool.sessions.push(new Session(index, spec, upgradeRequest(spec, token), spec.dialect === 'socketio' ? connectPacket(token) : undefined, spec.sourceAddress ?? localAddress(), events))
  }
  context.pools.set(job.pool, pool)
  for (let i = 0; i < job.concurrency; i++) launch()
  if (!await until(() => settled >= job.count, job.timeoutMs, 20)) errors.add(`only ${settled} of ${job.count} settled within ${job.timeoutMs} ms`)
  const opened = pool.sessions.filter((session) => session.ready).length
  return { opened, failed: job.count - opened, durationMs: performance.now() - started, errorSamples: errors.samples }
}

/** Has the server close every connection (TIME_WAIT on its side), then forgets the pool. */
export async function closePool (job: ClosePoolJob, context: GeneratorContext): Promise<PoolResult> {
  const pool = context.pools.get(job.pool)
  if (pool === undefined) return { opened: 0, failed: 0, durationMs: 0, errorSamples: [] }
  const started = performance.now()
  const errors = new ErrorLog()
  pool.onMessage = () => {}
  pool.onClosing = () => {}
  // A pool whose connections the server has all closed already (revoked, expired) needs no
  // close-all, which would also close other pools' connections on the same server.
  if (pool.sessions.some((session) => session.connection.closeCode === 0 && !session.connection.socket.destroyed)) {
    try {
      await control.closeAll(pool.spec.controlPort)
    } catch (err) {
      errors.add(`close-all failed: ${(err as Error).message}`)
    }
  }
  if (!await until(() => pool.ended >= pool.sessions.length, job.timeoutMs, 20)) {
    const left = pool.sessions.length - pool.ended
    errors.add(`${left} connections not closed by the server within ${job.timeoutMs} ms; destroyed`)
    for (const session of pool.sessions) session.connection.destroy()
  }
  context.pools.delete(job.pool)
  return { opened: pool.sessions.length, failed: errors.count, durationMs: performance.now() - started, errorSamples: errors.samples }
}
