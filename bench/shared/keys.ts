import { generateKeyPairSync, randomBytes } from 'node:crypto'
import type { BenchKeys } from './protocol.ts'

/** Fresh keys for one run: nothing secret is kept in the repository, and no run reuses another's tokens. */
export function generateKeys (): BenchKeys {
  const pem = (pair: { privateKey: import('node:crypto').KeyObject, publicKey: import('node:crypto').KeyObject }) => ({
    privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  })
  return {
    // 32 random bytes as base64url: 43 bytes of key, above HS256's 32-byte minimum.
    hmacSecret: randomBytes(32).toString('base64url'),
    es256: pem(generateKeyPairSync('ec', { namedCurve: 'P-256' })),
    eddsa: pem(generateKeyPairSync('ed25519')),
    rs256: pem(generateKeyPairSync('rsa', { modulusLength: 2048 })),
    jwks: {
      RS256: pem(generateKeyPairSync('rsa', { modulusLength: 2048 })),
      ES256: pem(generateKeyPairSync('ec', { namedCurve: 'P-256' })),
      EdDSA: pem(generateKeyPairSync('ed25519'))
    }
  }
}
