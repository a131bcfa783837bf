import type { ClientSpec, HandshakeExpectation, HandshakeJob, Measurement, TargetName } from '../shared/protocol.ts'
import { roundFigures, runRounds, selectVariants, type Samples, type VariantPlan } from '../orchestrator/rounds.ts'
import { round } from '../shared/stats.ts'
import { RATE_LIMITED_ADDRESS } from '../generator/context.ts'
import { BASE_COMPARISON, BASE_VARIANT, withBase } from './against.ts'
import { clientSpec } from './clients.ts'
import { jobTimeout, resultFromRounds, type Scenario, type ScenarioContext } from './scenario.ts'

/** A handshake variant: a target, the headers it gets and how its connections must end. */
export interface HandshakeVariant {
  id: string
  label: string
  target: TargetName
  baseline?: string
  client?: Partial<ClientSpec>
  expect: HandshakeExpectation
  status?: number
}

async function handshakePlans (context: ScenarioContext, variants: readonly HandshakeVariant[]): Promise<VariantPlan[]> {
  const plans: VariantPlan[] = []
  for (const variant of variants) {
    const server = await context.servers.get(variant.target)
    const client = clientSpec(server, 'handshake', variant.client)
    plans.push({
      id: variant.id,
      label: variant.label,
      target: variant.target,
      baseline: variant.baseline,
      visit: (durationMs) => context.generator.run<Measurement>({
        kind: 'handshake', client, expect: variant.expect, status: variant.status, concurrency: context.mode.handshakeConcurrency, durationMs
      } satisfies HandshakeJob, jobTimeout(durationMs))
    })
  }
  return plans
}

/**
 * How every handshake scenario measures: each variant's handshake job, in rounds. Returns
 * what `resultFromRounds` takes, `started` being the progress clock before the first plan.
 */
export async function runHandshakeRounds (context: ScenarioContext, variants: readonly HandshakeVariant[], unit: string): Promise<{ started: number, plans: VariantPlan[], samples: Samples }> {
  const started = context.progress.elapsedS
  // Servers are started only for the variants a `--variants` run visits.
  const plans = await handshakePlans(context, selectVariants(variants, context.mode.variants))
  const samples = await runRounds(plans, { ...context.mode, progress: context.progress, unit })
  return { started, plans, samples }
}

const VARIANTS: HandshakeVariant[] = [
  { id: 'bare', label: 'bare @fastify/websocket (same headers as plugin-hs256)', target: 'bare', expect: 'accepted' },
  { id: 'plugin-hs256', label: 'plugin, HS256 by subprotocol', target: 'plugin-hs256', baseline: 'bare', expect: 'accepted' },
  { id: 'hook-hs256', label: 'hand-written onRequest hook: @fastify/jwt verify of the subprotocol token, nothing else', target: 'hook-hs256', baseline: 'bare', expect: 'accepted' },
  { id: 'floor-hs256', label: 'signature only: node:crypto HMAC check of the subprotocol token, no decoding, no claims', target: 'floor-hs256', baseline: 'bare', expect: 'accepted' },
  { id: 'bare-cookie', label: 'bare @fastify/websocket (same headers as plugin-cookie)', target: 'bare', client: { credential: 'cookie' }, expect: 'accepted' },
  { id: 'plugin-cookie', label: 'plugin, HS256 by cookie + Origin', target: 'plugin-cookie', baseline: 'bare-cookie', expect: 'accepted' },
  { id: 'socketio', label: 'socket.io 4 + HS256 middleware (fast-jwt)', target: 'socketio', baseline: 'bare', expect: 'accepted' }
]

export const handshakeScenario: Scenario = {
  id: 'handshake',
  title: 'authenticated handshakes per second',
  unit: 'handshakes/s',
  description: 'Raw client, concurrent connections: upgrade → `authenticated` (bare: 101) → one `hello` message → the server closes (1000). An operation is a connection that went through all of it.',
  async run (context) {
    const variants = withBase(VARIANTS, context.options.against, { ...BASE_VARIANT, label: `plugin, HS256 by subprotocol, as of ${context.options.against ?? ''}`, expect: 'accepted' })
    const { started, plans, samples } = await runHandshakeRounds(context, variants, this.unit)

    // The same loop with the real `ws` client: it is the client's CPU, not the server's, that
    // runs out first, which is why capacity is measured with the raw client.
    const bare = await context.servers.get('bare')
    const wsClient = await context.generator.run<Measurement>({
      kind: 'handshake', client: clientSpec(bare, 'handshake'), expect: 'accepted', concurrency: context.mode.handshakeConcurrency, durationMs: context.mode.visitMs, wsClient: true
    }, jobTimeout(context.mode.visitMs))
    const ws = roundFigures([wsClient])
    const raw = roundFigures((samples.get('bare') ?? []).flat())
    context.progress.line(`ws client against bare: ${Math.round(ws.rate)} handshakes/s with the generator at ${Math.round(ws.generatorShare * 100)}% of its core (raw client: ${Math.round(raw.rate)}/s at ${Math.round(raw.generatorShare * 100)}%)`)

    return [resultFromRounds(this, plans, samples, context.mode.rounds, started, context.progress, {
      compare: [['plugin-hs256 / socketio', 'plugin-hs256', 'socketio'], ['plugin-hs256 / hook-hs256', 'plugin-hs256', 'hook-hs256'], ['plugin-hs256 / floor-hs256', 'plugin-hs256', 'floor-hs256'], BASE_COMPARISON],
      metrics: {
        wsClientRate: round(ws.rate),
        wsClientGeneratorCpuShare: round(ws.generatorShare, 3),
        wsClientServerCpuShare: round(ws.serverShare, 3),
        rawClientGeneratorCpuShare: round(raw.generatorShare, 3)
      },
      notes: [
        'The public-key algorithms, with their floors and JWKS variants, are in `handshake-algorithms`.',
        'Every default protection of the plugin is on (rate limit, revocation lookup, connection limits, heartbeat); every client sends an allowed Origin, so the Origin check runs; connections come from 4,064 loopback addresses, so the per-address rate limit is checked without refusing.'
      ]
    })]
  }
}

const REJECTED: HandshakeVariant[] = [
  { id: 'bare', label: 'bare, bad token, no Origin (accepted: bare checks nothing)', target: 'bare', client: { badSignature: true, origin: false }, expect: 'accepted' },
  // Under refusal 'auto' a client that offers wsauth.v1 is refused by close, Origin or not (SPEC 3.1).
  { id: 'refused-no-origin', label: 'plugin, bad signature, no Origin (wsauth.v1 offered) → auth_error + 4401', target: 'plugin-hs256', baseline: 'bare', client: { badSignature: true, origin: false }, expect: 'refused_close' },
  { id: 'bare-origin', label: 'bare, bad token, with Origin (accepted)', target: 'bare', client: { badSignature: true }, expect: 'accepted' },
  { id: 'refused-close', label: 'plugin, bad signature, with Origin → auth_error + 4401', target: 'plugin-hs256', baseline: 'bare-origin', client: { badSignature: true }, expect: 'refused_close' },
  { id: 'bare-one-address', label: 'bare, valid token, all from one address (accepted)', target: 'bare', client: { sourceAddress: RATE_LIMITED_ADDRESS }, expect: 'accepted' },
  {
    id: 'rate-limited',
    label: 'plugin, valid token, all from one address → 429 past 100 per 10 s',
    target: 'plugin-hs256',
    baseline: 'bare-one-address',
    client: { sourceAddress: RATE_LIMITED_ADDRESS },
    expect: 'refused_status',
    status: 429
  }
]

export const rejectedScenario: Scenario = {
  id: 'rejected',
  title: 'rejected handshakes per second (bad signature, rate limited)',
  unit: 'rejections/s',
  description: 'Tokens signed with the wrong key: the plugin upgrades, sends `auth_error` and closes with 4401, with an Origin (a browser) or without one (every client offers wsauth.v1, so refusal auto refuses it by close). Rate limited: valid tokens, all from one address, refused with 429 by the default handshake limit once the first 100 of each 10 s have passed (those are counted as `withinLimit`, not as refusals). Baselines: bare accepting the same requests.',
  async run (context) {
    const { started, plans, samples } = await runHandshakeRounds(context, REJECTED, this.unit)
    return [resultFromRounds(this, plans, samples, context.mode.rounds, started, context.progress)]
  }
}
