import type { ClientSpec, RouteName } from '../shared/protocol.ts'
import type { ServerHandle } from '../orchestrator/processes.ts'

// Floors get the static-key tokens: shorter than the JWKS ones (no kid, iss, aud), so a JWKS
// variant is judged against a floor that parses and hashes slightly less, never more.
const ALGORITHMS: Partial<Record<string, ClientSpec['algorithm']>> = {
  'plugin-es256': 'ES256',
  'plugin-eddsa': 'EdDSA',
  'plugin-rs256': 'RS256',
  'floor-es256': 'ES256',
  'floor-eddsa': 'EdDSA',
  'floor-rs256': 'RS256',
  'plugin-jwks-rs256': 'jwks-RS256',
  'plugin-jwks-es256': 'jwks-ES256',
  'plugin-jwks-eddsa': 'jwks-EdDSA'
}

/**
 * How a client talks to a target: its dialect, where its token travels and how it is
 * signed. Every client sends an allowed Origin, as a browser would, so the plugin's Origin
 * check runs; `overrides` give a baseline the same headers as the variant it is compared with.
 */
export function clientSpec (server: ServerHandle, route: RouteName, overrides: Partial<ClientSpec> = {}): ClientSpec {
  const target = server.target
  return {
    // The hand-written hook answers like bare: 101, then the route's own messages.
    dialect: target === 'bare' || target === 'hook-hs256' || target.startsWith('floor-') ? 'bare' : target === 'socketio' ? 'socketio' : 'wsauth',
    port: server.port,
    controlPort: server.controlPort,
    route,
    credential: target === 'socketio' ? 'connect-packet' : target === 'plugin-cookie' ? 'cookie' : 'subprotocol',
    origin: true,
    algorithm: ALGORITHMS[target] ?? 'HS256',
    ...overrides
  }
}
