import fastifyCookie from '@fastify/cookie'
import fastifyJwt from '@fastify/jwt'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import fastifyWsAuth from '../../plugin/index.ts'
import { SECRET, bearer, connect, sign } from '../helpers.ts'

const APP_SECRET = 'the-applications-own-secret-of-32-bytes-at-least'
const ORIGIN = 'http://app.test'

/**
 * The application registers its own @fastify/jwt and @fastify/cookie, before or after the
 * plugin: both must keep working, and the plugin must verify with its own key only.
 */
async function build (t: Test, order: 'app-first' | 'plugin-first'): Promise<{ app: FastifyInstance, url: string }> {
  const app = Fastify()
  const registerApp = async (): Promise<void> => {
    await app.register(fastifyJwt, { secret: APP_SECRET })
    await app.register(fastifyCookie)
  }
  if (order === 'app-first') await registerApp()
  await app.register(fastifyWsAuth, {
    verify: { algorithms: ['HS256'], key: SECRET },
    cookie: { name: 'access' },
    allowedOrigins: [ORIGIN]
  })
  if (order === 'plugin-first') await registerApp()
  app.get('/ws', { websocket: true, wsAuth: true }, (socket, request) => {
    socket.send(JSON.stringify({ type: 'hello', subject: request.wsAuth.subject }))
  })
  app.get('/me', async (request) => {
    await request.jwtVerify()
    return { user: request.user, cookies: request.cookies }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => app.close())
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { app, url: `ws://127.0.0.1:${port}/ws` }
}

for (const order of ['app-first', 'plugin-first'] as const) {
  t.test(`the application's own @fastify/jwt and @fastify/cookie, registered ${order}`, async (t) => {
    const { app, url } = await build(t, order)

    // (Cast: the example app's FastifyJWT augmentation is global in this TS project.)
    const appToken = app.jwt.sign({ sub: 'carol' } as never)
    const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${appToken}`, cookie: 'theme=dark' } })
    t.equal(me.statusCode, 200, 'the app verifies its own tokens')
    t.same(me.json(), { user: { sub: 'carol', iat: (app.jwt.decode(appToken) as { iat: number }).iat }, cookies: { theme: 'dark' } })

    const fromApp = connect(url, bearer(appToken))
    t.same(await fromApp.closed, { code: 4401, reason: 'token_signature_invalid' }, 'a token signed with the app key is refused by the plugin')

    const client = connect(url, bearer(sign({ sub: 'dave' })))
    t.match(await client.frame('hello'), { subject: 'dave' }, 'the plugin verifies with its own key')
    client.close()

    const byCookie = connect(url, undefined, { headers: { cookie: `access=${sign({ sub: 'erin' })}`, origin: ORIGIN } })
    t.match(await byCookie.frame('hello'), { subject: 'erin' }, 'cookie credentials still parsed')
    byCookie.close()
  })
}
