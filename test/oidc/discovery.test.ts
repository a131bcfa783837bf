import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { bearer, connect } from '../helpers.ts'
import { publicJwk, signWithJwk } from './jwks-server.ts'
import { signingKey } from './provider.ts'
import { clockedServer } from './resource-server.ts'

// Discovery documents the test writes itself: the plugin uses a discovered `jwks_uri` only
// when the document names exactly the configured issuer (OpenID Connect Discovery §4.3).

const AUDIENCE = 'urn:wsauth:feed'

t.test('a discovery document is checked before its jwks_uri is used', async (t) => {
  const key = signingKey('ES256')
  const fetched: string[] = []
  let document: Record<string, unknown> = {}
  const idp = createServer((request, response) => {
    fetched.push(request.url ?? '')
    const body = request.url === '/.well-known/openid-configuration' ? document : { keys: [publicJwk(key)] }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  idp.listen(0, '127.0.0.1')
  await once(idp, 'listening')
  t.teardown(() => { idp.closeAllConnections(); idp.close() })
  const issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`
  const s = await clockedServer(t, {
    plugin: { handshakeLimit: false, verify: { algorithms: ['ES256'], issuer, audience: AUDIENCE, jwks: { refetchInterval: 1 } } }
  })
  const token = signWithJwk(key, { alg: 'ES256', kid: key.kid }, { iss: issuer, aud: AUDIENCE, sub: 'alice' })
  const attempt = async (): Promise<unknown> => {
    s.tick(1) // past the refetch interval: each attempt may fetch again
    const client = connect(s.url, bearer(token))
    return await Promise.race([client.frame('authenticated').then(() => 'accepted'), client.refused.then((r) => r.body)])
  }

  for (const [why, doc] of [
    ['another issuer', { issuer: `${issuer}/other`, jwks_uri: `${issuer}/keys.json` }],
    ['no issuer', { jwks_uri: `${issuer}/keys.json` }],
    ['a jwks_uri over plain http off loopback', { issuer, jwks_uri: 'http://keys.example/keys.json' }],
    ['a jwks_uri that is no URL', { issuer, jwks_uri: 'keys' }]
  ] as const) {
    document = doc
    fetched.length = 0
    t.match(await attempt(), { code: 'jwks_unavailable' }, `refused: ${why}`)
    t.same(fetched, ['/.well-known/openid-configuration'], `${why}: the key set was not fetched`)
  }

  document = { issuer, jwks_uri: `${issuer}/keys.json` }
  fetched.length = 0
  t.equal(await attempt(), 'accepted', 'the right document: keys fetched and the token accepted')
  t.same(fetched, ['/.well-known/openid-configuration', '/keys.json'])
})
