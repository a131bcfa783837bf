import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import { build } from 'esbuild'
import type { FastifyInstance } from 'fastify'

const PUBLIC = fileURLToPath(new URL('./public/', import.meta.url))
const PAGE_SCRIPT = fileURLToPath(new URL('./public/app.ts', import.meta.url))

/**
 * The browser page: `/` (public/index.html), `/app.js` (public/app.ts and the reference
 * client bundled by esbuild on first request, then cached), and `/help`, a plain-text
 * guide for curl and wscat.
 */
export async function registerPage (app: FastifyInstance, options: { cookieMode: boolean }): Promise<void> {
  await app.register(fastifyStatic, { root: PUBLIC, index: 'index.html', allowedPath: (path) => !path.endsWith('.ts') })

  let bundle: Promise<string> | undefined
  app.get('/app.js', async (_request, reply) => {
    bundle ??= build({ entryPoints: [PAGE_SCRIPT], bundle: true, format: 'esm', target: 'es2022', minify: true, write: false, logLevel: 'silent' })
      .then((result) => (result.outputFiles[0] as { text: string }).text)
    bundle.catch(() => { bundle = undefined })
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(await bundle)
  })

  app.get('/config.json', async () => ({ cookieMode: options.cookieMode }))

  app.get('/help', async (request, reply) => {
    const origin = `${request.protocol}://${request.host}`
    return reply.type('text/plain; charset=utf-8').send(help(origin))
  })
}

function help (origin: string): string {
  const ws = origin.replace(/^http/, 'ws')
  return `fastify-ws-auth example app

GET  ${origin}/              the browser page
POST ${origin}/auth/login    {"username":"alice","password":"alice-password"} -> {"accessToken","expiresAt",...}
POST ${origin}/auth/refresh  {} with the refresh_token cookie -> a new access token (and a rotated refresh cookie)
POST ${origin}/auth/token    Authorization: Bearer <access token> -> a fresh token for the same session
POST ${origin}/auth/logout   refresh cookie or Authorization: Bearer -> ends the session, closes its sockets (4441)
GET  ${ws}/feed              WebSocket; subprotocols "wsauth.v1" and "wsauth.bearer.<access token>"
GET  ${ws}/feed/auth-frame   the same feed; connect without a credential, then send {"type":"auth","token":"<access token>"} within 5 s
GET  ${origin}/health, ${origin}/metrics

Try it:
  TOKEN=$(curl -s -X POST ${origin}/auth/login -H 'content-type: application/json' \\
    -d '{"username":"alice","password":"alice-password"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).accessToken')
  npx wscat -c ${ws}/feed -s wsauth.v1 -s "wsauth.bearer.$TOKEN"
  npx wscat -c ${ws}/feed/auth-frame -x "{\\"type\\":\\"auth\\",\\"token\\":\\"$TOKEN\\"}" -w 30

In wscat: {"type":"subscribe","topic":"premium"}, {"type":"unsubscribe","topic":"ticker"},
{"type":"renew","token":"<a token from /auth/token>"}.
Demo users: alice/alice-password, bob/bob-password, carol/carol-password (no feed access).
The protocol: SPEC.md.
`
}
