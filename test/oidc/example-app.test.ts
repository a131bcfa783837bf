import t from 'tap'
import { buildApp } from '../../example-app/app.ts'
import { ConfigError, loadConfig } from '../../example-app/config.ts'
import { UserStore } from '../../example-app/users.ts'
import { bearer, connect } from '../helpers.ts'
import { RESOURCE, startIssuer } from './provider.ts'

t.test('the example app runs against an external issuer: OIDC_ISSUER and OIDC_AUDIENCE', async (t) => {
  const idp = await startIssuer(t)
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', TICK_INTERVAL: '50', OIDC_ISSUER: idp.issuer, OIDC_AUDIENCE: RESOURCE, OIDC_ALGORITHMS: 'ES256' })
  t.same(config.oidc, { issuer: idp.issuer, audience: RESOURCE, algorithms: ['ES256'], profile: 'rfc9068' })
  const app = await buildApp(config, { users: await UserStore.create([]) })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => app.close())
  const { port } = app.server.address() as { port: number }
  const base = `127.0.0.1:${port}`

  const client = connect(`ws://${base}/feed`, bearer(await idp.accessToken()))
  t.match(await client.frame('authenticated'), { subject: 'feed-service' })
  t.match(await client.frame('tick'), { topic: 'ticker', subject: 'feed-service' }, 'the feed runs on the issuer\'s token')
  client.send({ type: 'subscribe', topic: 'premium' })
  t.match(await client.waitFor((m) => (m as { topic?: string, type?: string }).type === 'subscribed' && (m as { topic?: string }).topic === 'premium'), { topic: 'premium' }, 'scopes come from the issuer\'s token')
  client.send({ type: 'renew', token: await idp.accessToken(), id: 'r' })
  t.match(await client.frame('renewed'), { id: 'r' })
  client.close()

  const narrow = await idp.accessToken({ scope: 'market:premium' })
  t.same(await connect(`ws://${base}/feed`, bearer(narrow)).closed, { code: 4403, reason: 'forbidden' }, 'no feed:read')
  const login = await fetch(`http://${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"alice","password":"alice-password"}' })
  t.equal(login.status, 404, 'no own login in this mode')
  t.match(await login.json(), { statusCode: 404, code: 'external_issuer', error: 'Not Found' })
})

t.test('OIDC settings are validated at start', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ OIDC_ISSUER: 'https://idp.example' }, /OIDC_ISSUER and OIDC_AUDIENCE must be set together/],
    [{ OIDC_AUDIENCE: 'feed' }, /OIDC_ISSUER and OIDC_AUDIENCE must be set together/],
    [{ OIDC_ISSUER: 'http://idp.example', OIDC_AUDIENCE: 'feed' }, /OIDC_ISSUER must be the issuer's https:\/\/ URL/],
    [{ OIDC_ISSUER: 'idp', OIDC_AUDIENCE: 'feed' }, /OIDC_ISSUER must be/],
    [{ OIDC_ISSUER: 'https://idp.example', OIDC_AUDIENCE: 'feed', OIDC_ALGORITHMS: 'HS256' }, /OIDC_ALGORITHMS must list some of RS256, PS256, ES256, EdDSA/],
    [{ OIDC_ISSUER: 'https://idp.example', OIDC_AUDIENCE: 'feed', OIDC_PROFILE: 'oauth' }, /OIDC_PROFILE must be rfc9068 or jwt/]
  ]
  for (const [env, message] of cases) {
    let error: unknown
    try { loadConfig(env) } catch (err) { error = err }
    t.ok(error instanceof ConfigError, JSON.stringify(env))
    t.match((error as Error | undefined)?.message, message)
  }
  t.same(loadConfig({ OIDC_ISSUER: 'https://idp.example', OIDC_AUDIENCE: 'feed' }).oidc?.algorithms, ['RS256', 'ES256', 'EdDSA'])
  t.equal(loadConfig({ OIDC_ISSUER: 'https://idp.example', OIDC_AUDIENCE: 'feed', OIDC_PROFILE: 'jwt' }).oidc?.profile, 'jwt')
  t.equal(loadConfig({}).oidc, undefined)
})
