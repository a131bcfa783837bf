import { createHmac, createPublicKey, createSecretKey, timingSafeEqual, verify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto'
import Fastify from 'fastify'
import { BEARER_SUBPROTOCOL_PREFIX } from '../../protocol/version.ts'
import { staticKeyPair } from '../shared/tokens.ts'
import type { BenchKeys } from '../shared/protocol.ts'
import { registerWebsocket } from './bare.ts'
import { fastifyTarget } from './fastify-target.ts'
import { registerRoutes } from './routes.ts'
import type { RunningTarget } from './target.ts'

export type FloorAlgorithm = 'HS256' | 'ES256' | 'EdDSA' | 'RS256'

/** Whether `signature` signs `input` under the algorithm: the cryptography and nothing else. */
type SignatureCheck = (input: string, signature: Buffer) => boolean

function signatureCheck (keys: BenchKeys, algorithm: FloorAlgorithm): SignatureCheck {
  if (algorithm === 'HS256') {
    const key = createSecretKey(Buffer.from(keys.hmacSecret))
    return (input, signature) => {
      const expected = createHmac('sha256', key).update(input).digest()
      return signature.length === expected.length && timingSafeEqual(signature, expected)
    }
  }
  const key: KeyObject = createPublicKey(staticKeyPair(keys, algorithm).publicKey)
  // JWS carries ECDSA signatures as r || s (RFC 7518 §3.4), not DER; EdDSA names no digest.
  const input: VerifyKeyObjectInput = algorithm === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : { key }
  const digest = algorithm === 'EdDSA' ? null : 'sha256'
  return (data, signature) => verify(digest, Buffer.from(data), input, signature)
}

/**
 * The floor under any authentication on this transport, for one algorithm: bare plus a
 * synchronous `onRequest` hook that checks only the bearer token's signature with node:crypto
 * (no JSON decoding, no claims, not even `exp`), 401 if it does not match. Not a verifier
 * anyone should deploy: what is left of a handshake's cost when verification is cut to its
 * cryptography, the reference `plugin-<alg>` (static key and JWKS) is judged against.
 */
export async function startSignatureFloor (keys: BenchKeys, algorithm: FloorAlgorithm): Promise<RunningTarget> {
  const app = Fastify({ logger: false })
  await registerWebsocket(app)
  const check = signatureCheck(keys, algorithm)
  app.addHook('onRequest', (request, reply, done) => {
    const header = request.headers['sec-websocket-protocol'] ?? ''
    const start = header.indexOf(BEARER_SUBPROTOCOL_PREFIX)
    const end = header.indexOf(',', start)
    const token = start === -1 ? '' : header.slice(start + BEARER_SUBPROTOCOL_PREFIX.length, end === -1 ? undefined : end).trim()
    const dot = token.lastIndexOf('.')
    if (dot > 0 && check(token.slice(0, dot), Buffer.from(token.slice(dot + 1), 'base64url'))) done()
    else reply.code(401).send({ error: 'Unauthorized' })
  })
  registerRoutes(app, false)
  await app.listen({ host: '127.0.0.1', port: 0 })
  return fastifyTarget(app)
}
