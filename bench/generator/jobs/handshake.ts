import { createHistogram, recordMs } from '../../shared/histogram.ts'
import type { HandshakeExpectation, HandshakeJob, Measurement } from '../../shared/protocol.ts'
import { localAddress, nowSeconds, userClaims, type GeneratorContext } from '../context.ts'
import { ErrorLog } from '../errors.ts'
import { measurement } from '../measurement.ts'
import { connectPacket, upgradeRequest } from '../raw/request.ts'
import { Session, type SessionEvents } from '../raw/session.ts'
import { MeasureWindow, measureSteadyState, until } from '../window.ts'

/** Distinct users per run: tokens are cycled, requests prebuilt. */
const DISTINCT_TOKENS = 256

/** Marks a handshake that a rate limit let through (the first ones of each window): neither an operation nor an error. */
const WITHIN_LIMIT = 'within the limit'

function outcome (session: Session, expect: HandshakeExpectation, status: number): string | undefined {
  switch (expect) {
    case 'accepted':
      if (!session.ready) return session.refusal ?? 'never authenticated'
      return session.connection.closeCode === 0 ? 'no close frame' : undefined
    case 'refused_status':
      if (status === 429 && session.ready) return WITHIN_LIMIT
      return session.refusal === `status ${status}` ? undefined : `expected ${status}, got ${session.refusal ?? 'an accepted connection'}`
    case 'refused_close':
      if (session.refusal !== 'auth_error') return `expected auth_error, got ${session.refusal ?? 'an accepted connection'}`
      return session.connection.closeCode === 4401 ? undefined : `expected close 4401, got ${session.connection.closeCode}`
  }
}

/**
 * Handshake capacity with the raw client: `concurrency` connections in flight, each one
 * opened, authenticated (or refused) and closed by the server; a new one starts as soon as
 * one ends. An operation is a connection that ended as expected within the window.
 */
export async function runHandshake (job: HandshakeJob, context: GeneratorContext): Promise<Measurement> {
  const spec = job.client
  const factory = context.tokens(spec.algorithm, spec.badSignature)
  const exp = nowSeconds() + 3600
  const tokens = Array.from({ length: DISTINCT_TOKENS }, (_, i) => factory.sign(userClaims(i, exp)))
  const requests = tokens.map((token) => upgradeRequest(spec, token))
  const packets = spec.dialect === 'socketio' ? tokens.map(connectPacket) : undefined

  const histogram = createHistogram()
  const errors = new ErrorLog()
  let measuring = false
  let stopping = false
  let ops = 0
  let withinLimit = 0
  let inFlight = 0
  let next = 0

  const settled = (session: Session): void => {
    if (measuring) recordMs(histogram, performance.now() - session.startedAt)
  }
  const events: SessionEvents = {
    ready: settled,
    refused: settled,
    message: () => {},
    closing: () => {},
    ended: (session, error) => {
      inFlight--
      const problem = outcome(session, job.expect, job.status ?? 401)
      if (measuring) {
        if (problem === undefined) ops++
        else if (problem === WITHIN_LIMIT) withinLimit++
        else errors.add(error === undefined ? problem : `${problem} (${error.message})`)
      }
      if (!stopping) launch()
    }
  }
  const launch = (): void => {
    const i = next++ % DISTINCT_TOKENS
    inFlight++
    // eslint-disable-next-line no-new
    new Session(i, spec, requests[i] as Buffer, packets?.[i], spec.sourceAddress ?? localAddress(), events)
  }

  for (let i = 0; i < job.concurrency; i++) launch()
  const totals = await measureSteadyState(job.durationMs, async () => await MeasureWindow.open(spec.controlPort), (on) => { measuring = on })
  stopping = true
  if (!await until(() => inFlight === 0, 10_000)) errors.add(`${inFlight} connections still open 10 s after the window`)
  return measurement(ops, totals, errors, histogram, job.expect === 'refused_status' ? { withinLimit } : {})
}
