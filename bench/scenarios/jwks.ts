import { runHandshakeRounds, type HandshakeVariant } from './handshake.ts'
import { resultFromRounds, type Scenario } from './scenario.ts'

const VARIANTS: HandshakeVariant[] = [
  { id: 'bare', label: 'bare @fastify/websocket (same headers as plugin-hs256)', target: 'bare', expect: 'accepted' },
  { id: 'plugin-hs256', label: 'plugin, HS256, static key', target: 'plugin-hs256', baseline: 'bare', expect: 'accepted' },
  { id: 'plugin-es256', label: 'plugin, ES256, static key', target: 'plugin-es256', baseline: 'bare', expect: 'accepted' },
  { id: 'jwks-rs256', label: 'plugin, RS256, key from a JWKS by kid', target: 'plugin-jwks-rs256', baseline: 'bare', expect: 'accepted' },
  { id: 'jwks-es256', label: 'plugin, ES256, key from a JWKS by kid', target: 'plugin-jwks-es256', baseline: 'bare', expect: 'accepted' },
  { id: 'jwks-eddsa', label: 'plugin, EdDSA, key from a JWKS by kid', target: 'plugin-jwks-eddsa', baseline: 'bare', expect: 'accepted' }
]

export const handshakeJwksScenario: Scenario = {
  id: 'handshake-jwks',
  title: 'authenticated handshakes per second, keys from a JWKS',
  unit: 'handshakes/s',
  description: 'As `handshake`, with tokens an identity provider would issue: RS256, ES256 and EdDSA, each verified with the key its `kid` names in a JWKS (`verify.jwks`, issuer and audience checked), served by a tiny HTTP server in the server process. The key set is fetched at the first handshake of each key; every measured handshake uses the cached key. Baselines: bare (same route, no checks) and the plugin with its static HS256 key.',
  async run (context) {
    const { started, plans, samples } = await runHandshakeRounds(context, VARIANTS, this.unit)
    return [resultFromRounds(this, plans, samples, context.mode.rounds, started, context.progress, {
      compare: [
        ['jwks-rs256 / plugin-hs256', 'jwks-rs256', 'plugin-hs256'],
        ['jwks-es256 / plugin-hs256', 'jwks-es256', 'plugin-hs256'],
        ['jwks-eddsa / plugin-hs256', 'jwks-eddsa', 'plugin-hs256'],
        ['jwks-es256 / plugin-es256', 'jwks-es256', 'plugin-es256']
      ],
      notes: [
        'JWKS tokens carry `kid`, `iss` and `aud`, so they are longer than the static-key tokens (RS256 signatures are 342 characters); bare is sent HS256-sized headers.',
        '`jwks-es256 / plugin-es256` isolates the cost of the key set (lookup by kid, issuer and audience checks) from the cost of the algorithm.'
      ]
    })]
  }
}
