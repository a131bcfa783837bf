import { createHmac, generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { SECRET, bearer, connect, manualClock, secret, sign, startServer, unsignedToken } from '../helpers.ts'
import { refusedWith, stillServing } from './harness.ts'

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/** A token with any header and payload, HMAC-signed with `key` (default: the real key). */
function forge (header: Record<string, unknown>, payload: Record<string, unknown>, key: string | Buffer = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`
  const alg = typeof header.alg === 'string' && /^HS(256|384|512)$/.test(header.alg) ? header.alg : 'HS256'
  return secret(`${input}.${createHmac(`sha${alg.slice(2)}`, key).update(input).digest('base64url')}`)
}

const exp = (): number => Math.floor(Date.now() / 1000) + 60

t.test('token attacks against an HS256 server', async (t) => {
  const server = await startServer(t, { plugin: { refusal: 'status', verify: { algorithms: ['HS256'], key: SECRET, issuer: 'https://issuer.test' } } })
  const claims = { sub: 'alice', iss: 'https://issuer.test' }
  const cases: Array<[string, () => string, string]> = [
    ['alg none', () => unsignedToken(claims), 'token_algorithm_not_allowed'],
    ['alg NONE', () => unsignedToken(claims, 'NONE'), 'token_algorithm_not_allowed'],
    ['alg nOnE with a signature', () => `${unsignedToken(claims, 'nOnE')}c2lnbmF0dXJl`, 'token_algorithm_not_allowed'],
    ['alg hs256 (wrong case)', () => forge({ alg: 'hs256', typ: 'JWT' }, { ...claims, exp: exp() }), 'token_algorithm_not_allowed'],
    ['an algorithm outside the allowlist (HS512)', () => forge({ alg: 'HS512', typ: 'JWT' }, { ...claims, exp: exp() }, SECRET + SECRET), 'token_algorithm_not_allowed'],
    ['no alg', () => forge({ typ: 'JWT' }, { ...claims, exp: exp() }), 'token_algorithm_not_allowed'],
    ['kid path injection, signed with an empty key', () => forge({ alg: 'HS256', kid: '../../../../dev/null' }, { ...claims, exp: exp() }, ''), 'token_signature_invalid'],
    ['kid SQL injection, signed with a guessed key', () => forge({ alg: 'HS256', kid: "x' UNION SELECT 'key" }, { ...claims, exp: exp() }, 'key'), 'token_signature_invalid'],
    ['a crit header', () => forge({ alg: 'HS256', crit: ['exp'] }, { ...claims, exp: exp() }), 'token_malformed'],
    ['a header that is not JSON', () => `${b64('{alg:')}.${b64({ ...claims, exp: exp() })}.c2ln`, 'token_malformed'],
    ['a header that is a JSON array', () => `${b64(['HS256'])}.${b64({ ...claims, exp: exp() })}.c2ln`, 'token_malformed'],
    ['a 2 KB header', () => forge({ alg: 'HS256', pad: 'x'.repeat(2000) }, { ...claims, exp: exp() }), 'token_malformed'],
    ['four segments', () => `${forge({ alg: 'HS256' }, { ...claims, exp: exp() })}.extra`, 'token_malformed'],
    ['two segments', () => `${b64({ alg: 'HS256' })}.${b64({ ...claims, exp: exp() })}`, 'token_malformed'],
    ['typ of a refresh token', () => forge({ alg: 'HS256', typ: 'refresh+jwt' }, { ...claims, exp: exp() }), 'token_type_invalid'],
    ['typ JWS', () => forge({ alg: 'HS256', typ: 'JWS' }, { ...claims, exp: exp() }), 'token_type_invalid'],
    ['typ as a number', () => forge({ alg: 'HS256', typ: 7 }, { ...claims, exp: exp() }), 'token_type_invalid'],
    ['missing exp', () => forge({ alg: 'HS256' }, { ...claims }), 'token_claims_invalid'],
    ['exp as a string', () => forge({ alg: 'HS256' }, { ...claims, exp: String(exp()) }), 'token_claims_invalid'],
    ['a huge exp', () => forge({ alg: 'HS256' }, { ...claims, exp: 1e300 }), 'token_claims_invalid'],
    ['a negative exp', () => forge({ alg: 'HS256' }, { ...claims, exp: -1 }), 'token_claims_invalid'],
    ['nbf as a string', () => forge({ alg: 'HS256' }, { ...claims, exp: exp(), nbf: 'now' }), 'token_claims_invalid'],
    ['an array iss', () => forge({ alg: 'HS256' }, { ...claims, exp: exp(), iss: ['https://issuer.test'] }), 'token_issuer_invalid'],
    ['no sub', () => forge({ alg: 'HS256' }, { iss: claims.iss, exp: exp() }), 'token_claims_invalid'],
    ['a numeric sub', () => forge({ alg: 'HS256' }, { ...claims, sub: 42, exp: exp() }), 'token_claims_invalid'],
    ['a 2000-character sub', () => forge({ alg: 'HS256' }, { ...claims, sub: 'a'.repeat(2000), exp: exp() }), 'token_claims_invalid'],
    ['a payload that is not an object', () => forge({ alg: 'HS256' }, 'just a string' as never), 'token_malformed'],
    ['a flipped signature bit', () => {
      const token = forge({ alg: 'HS256' }, { ...claims, exp: exp() })
      const signature = Buffer.from(token.split('.')[2] as string, 'base64url')
      signature[0] = (signature[0] as number) ^ 1
      return `${token.split('.').slice(0, 2).join('.')}.${signature.toString('base64url')}`
    }, 'token_signature_invalid'],
    ['a payload swapped under a valid signature', () => {
      const [header, , signature] = forge({ alg: 'HS256' }, { ...claims, exp: exp() }).split('.')
      return `${header}.${b64({ ...claims, sub: 'admin', exp: exp() })}.${signature}`
    }, 'token_signature_invalid'],
    ['signed with another key', () => forge({ alg: 'HS256' }, { ...claims, exp: exp() }, 'another-secret-of-at-least-32-bytes!!'), 'token_signature_invalid']
  ]
  for (const [name, token, code] of cases) {
    t.test(name, async (t) => {
      await refusedWith(t, connect(server.url, bearer(token())), 401, code)
      await stillServing(t, server, { claims: { iss: claims.iss } })
    })
  }
})

t.test('exp == now is expired (RFC 7519: "on or after")', async (t) => {
  const time = manualClock(Math.floor(Date.now() / 1000) * 1000)
  const server = await startServer(t, { plugin: { refusal: 'status', clock: time.clock } })
  await refusedWith(t, connect(server.url, bearer(sign({ exp: time.now() / 1000 }))), 401, 'token_expired')
  const justValid = connect(server.url, bearer(sign({ exp: time.now() / 1000 + 0.001 })))
  t.equal((await justValid.frame('authenticated')).expiresIn, 1, 'one ms before exp is still valid')
  justValid.close()
})

for (const [alg, type, options] of [
  ['RS256', 'rsa', { modulusLength: 2048 }],
  ['ES256', 'ec', { namedCurve: 'P-256' }],
  ['EdDSA', 'ed25519', {}]
] as const) {
  t.test(`algorithm confusion: HS256 "signed" with the ${alg} server's public key`, async (t) => {
    const { publicKey, privateKey } = generateKeyPairSync(type as 'rsa', options as { modulusLength: number })
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
    const server = await startServer(t, { plugin: { refusal: 'status', verify: { algorithms: [alg], key: pem } } })
    const confused = forge({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', exp: exp() }, pem)
    await refusedWith(t, connect(server.url, bearer(confused)), 401, 'token_algorithm_not_allowed')
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    const genuine = connect(server.url, bearer(sign({ sub: 'alice' }, { algorithm: alg, key: pkcs8 })))
    t.equal((await genuine.frame('authenticated')).subject, 'alice', `a genuine ${alg} token is accepted`)
    genuine.close()
  })
}
