import { createPublicKey } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { BenchKeys } from '../shared/protocol.ts'
import { jwksKeyId } from '../shared/tokens.ts'

/**
 * The run's JWKS on 127.0.0.1, in the server's own process: the plugin fetches it once, at
 * the first handshake of each key, and verifies from its cache after that, so what the
 * JWKS targets measure is the cached path, as in production between key rotations.
 */
export async function startJwksServer (keys: BenchKeys): Promise<{ url: string, server: Server, fetches: () => number }> {
  const body = JSON.stringify({
    keys: (Object.entries(keys.jwks) as Array<[string, { publicKey: string }]>).map(([alg, pair]) => ({
      ...createPublicKey(pair.publicKey).export({ format: 'jwk' }), kid: jwksKeyId(alg), alg, use: 'sig'
    }))
  })
  let fetches = 0
  const server = createServer((_req, res) => {
    fetches++
    res.writeHead(200, { 'content-type': 'application/json' }).end(body)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`, server, fetches: () => fetches }
}
