import type { TargetName } from '../shared/protocol.ts'
import { runHandshakeRounds, type HandshakeVariant } from './handshake.ts'
import { resultFromRounds, type Scenario } from './scenario.ts'

/** The public-key algorithms, each with its floor, the plugin with a static key, and the plugin with a JWKS. */
export const PUBLIC_KEY_ALGORITHMS = [
  { alg: 'ES256', id: 'es256' },
  { alg: 'EdDSA', id: 'eddsa' },
  { alg: 'RS256', id: 'rs256' }
] as const

const VARIANTS: HandshakeVariant[] = [
  { id: 'bare', label: 'bare @fastify/websocket (same headers as plugin-hs256)', target: 'bare', expect: 'accepted' },
  ...PUBLIC_KEY_ALGORITHMS.flatMap(({ alg, id }): HandshakeVariant[] => [
    { id: `floor-${id}`, label: `signature only: node:crypto verify of the ${alg} subprotocol token with a static key, no decoding, no claims`, target: `floor-${id}` as TargetName, baseline: 'bare', expect: 'accepted' },
    { id: `plugin-${id}`, label: `plugin, ${alg}, static key`, target: `plugin-${id}` as TargetName, baseline: 'bare', expect: 'accepted' },
    { id: `jwks-${id}`, label: `plugin, ${alg}, key from a JWKS by kid (issuer and audience checked)`, target: `plugin-jwks-${id}` as TargetName, baseline: 'bare', expect: 'accepted' }
  ])
]

/** Per algorithm: plugin and JWKS over the floor (the targets), and the JWKS over the static key (what the key set costs). */
export const ALGORITHM_COMPARISONS: Array<[string, string, string]> = PUBLIC_KEY_ALGORITHMS.flatMap(({ id }): Array<[string, string, string]> => [
  [`plugin-${id} / floor-${id}`, `plugin-${id}`, `floor-${id}`],
  [`jwks-${id} / floor-${id}`, `jwks-${id}`, `floor-${id}`],
  [`jwks-${id} / plugin-${id}`, `jwks-${id}`, `plugin-${id}`]
])

export const handshakeAlgorithmsScenario: Scenario = {
  id: 'handshake-algorithms',
  title: 'authenticated handshakes per second by algorithm (ES256, EdDSA, RS256; static key and JWKS) against each algorithm\'s floor',
  unit: 'handshakes/s',
  description: 'As `handshake`, for the public-key algorithms. Per algorithm, in the same rounds: `floor-<alg>` (bare plus a synchronous hook that only verifies the signature with node:crypto and a static key), `plugin-<alg>` (the plugin with that static key) and `jwks-<alg>` (the plugin verifying with the key its `kid` names in a JWKS, `iss` and `aud` checked, the set served by a tiny HTTP server in the server process and fetched once per key; every measured handshake uses the cached key). Ratios to bare, and of each plugin variant to its algorithm\'s floor.',
  async run (context) {
    const { started, plans, samples } = await runHandshakeRounds(context, VARIANTS, this.unit)
    return [resultFromRounds(this, plans, samples, context.mode.rounds, started, context.progress, {
      compare: ALGORITHM_COMPARISONS,
      notes: [
        'JWKS tokens carry `kid`, `iss` and `aud`, so they are longer than the static-key tokens the floors are sent: a JWKS variant is judged against a floor that parses and hashes slightly less.',
        'RS256 signatures are 342 characters; bare is sent HS256-sized headers, so ratios to bare include the longer header of each algorithm, ratios to the floor do not.',
        '`jwks-<alg> / plugin-<alg>` isolates the cost of the key set (lookup by kid, issuer and audience checks) from the cost of the algorithm.'
      ]
    })]
  }
}
