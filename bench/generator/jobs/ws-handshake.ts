import { WebSocket } from 'ws'
import { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL } from '../../../protocol/index.ts'
import { createHistogram, recordMs } from '../../shared/histogram.ts'
import { BENCH_ORIGIN, ROUTES, type HandshakeJob, type Measurement } from '../../shared/protocol.ts'
import { localAddress, nowSeconds, userClaims, type GeneratorContext } from '../context.ts'
import { ErrorLog } from '../errors.ts'
import { measurement } from '../measurement.ts'
import { MeasureWindow, measureSteadyState, until } from '../window.ts'

/**
 * The same handshake loop with the real `ws` client. Not used for capacity figures: it
 * shows how much CPU a full client spends per handshake (the reason for the raw client).
 */
export async function runWsHandshake (job: HandshakeJob, context: GeneratorContext): Promise<Measurement> {
  const spec = job.client
  const factory = context.tokens(spec.algorithm)
  const exp = nowSeconds() + 3600
  const tokens = Array.from({ length: 64 }, (_, i) => factory.sign(userClaims(i, exp)))
  const url = `ws://127.0.0.1:${spec.port}${ROUTES[spec.route]}`
  const histogram = createHistogram()
  const errors = new ErrorLog()
  let measuring = false
  let stopping = false
  let ops = 0
  let inFlight = 0
  let next = 0

  const launch = (): void => {
    const index = next++
    const token = tokens[index % tokens.length] as string
    const started = performance.now()
    inFlight++
    const socket = new WebSocket(url, [SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${token}`], {
      headers: spec.origin ? { origin: BENCH_ORIGIN } : {},
      localAddress: spec.sourceAddress ?? localAddress(),
      perMessageDeflate: false
    })
    let first = true
    socket.on('message', () => {
      if (first && measuring) recordMs(histogram, performance.now() - started)
      first = false
    })
    socket.on('error', (error) => { if (measuring) errors.add(error.message) })
    socket.on('close', () => {
      inFlight--
      if (measuring && !first) ops++
      if (!stopping) launch()
    })
  }

  for (let i = 0; i < job.concurrency; i++) launch()
  const totals = await measureSteadyState(job.durationMs, async () => await MeasureWindow.open(spec.controlPort), (on) => { measuring = on })
  stopping = true
  await until(() => inFlight === 0, 10_000)
  return measurement(ops, totals, errors, histogram, {})
}
