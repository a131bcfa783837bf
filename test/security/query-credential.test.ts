import t from 'tap'
import { bearer, connect, sign, startServer } from '../helpers.ts'
import { answerOf, stillServing } from './harness.ts'

const signatureOf = (token: string): string => token.split('.')[2] as string

// Issue 14 item 6: `%zz` made decoding throw, the raw value had no literal dot, and the
// handshake was accepted with the whole token in the `incoming request` log line.
t.test('a query that cannot be decoded is not trusted to be clean', async (t) => {
  const server = await startServer(t)
  const good = sign()
  type Query = (token: string, parts: [string, string, string]) => string
  const queries: Record<string, Query> = {
    'a malformed escape before %2E-encoded dots': (_, [h, p, s]) => `x=%zz${h}%2E${p}%2E${s}`,
    'lower-case %2e': (_, [h, p, s]) => `x=${h}%2e${p}%2e${s}`,
    'a lone % at the end': (_, [h, p, s]) => `x=${h}%2E${p}%2E${s}%`,
    'double encoding': (_, [h, p, s]) => `x=${h}%252E${p}%252E${s}`,
    'broken UTF-8 before it': (_, [h, p, s]) => `x=%E0%A4${h}%2E${p}%2E${s}`,
    'after a +': (token) => `x=a+${token}`,
    'behind a ; separator': (_, [, , s]) => `room=1;token=${s}`
  }
  for (const [name, build] of Object.entries(queries)) {
    t.test(name, async (t) => {
      // A token per case, so that each case's log check stands on its own.
      const token = sign({ sub: name })
      const signature = signatureOf(token)
      const query = build(token, token.split('.') as [string, string, string])
      t.match(await answerOf(connect(`${server.url}?${query}`, bearer(good))), { status: 400, body: { code: 'credential_in_query' } })
      t.notOk(server.logLines.join('').includes(signature), 'the token is in no log line')
    })
  }
  t.test('still serving', async (t) => { await stillServing(t, server) })
})

// Issue 14 item 7: only upgrade requests were redacted; a plain GET (or HEAD) to an
// authenticated route was logged by Fastify's request log with the token at info.
t.test('a plain request to an authenticated route is logged without its query credential', async (t) => {
  const lines: string[] = []
  const stream = { write (line: string) { lines.push(line) } }
  let seenQuery: unknown
  const server = await startServer(t, {
    fastify: { logger: { level: 'info', stream } },
    setup: (app) => {
      app.get('/own', async (request) => {
        seenQuery = request.query
        return { url: request.url }
      })
    }
  })
  const token = sign({ sub: 'plain-get' })
  const base = server.url.replace(/^ws:/, 'http:')
  for (const method of ['GET', 'HEAD']) {
    for (const query of [`token=${token}`, `next=${token}`, `x=%zz${token.replaceAll('.', '%2E')}`]) {
      const response = await fetch(`${base}?${query}`, { method })
      await response.arrayBuffer()
      t.ok(response.status >= 400, `${method} ?${query.slice(0, 8)}…: not served (${response.status})`)
    }
  }
  const log = lines.join('')
  t.match(log, /incoming request/, 'the request log was written')
  t.match(log, /\/ws\?token=\[redacted\]/, 'with the redacted URL')
  t.notOk(log.includes(signatureOf(token)), 'the token signature is in no log line')

  // The application's own routes are not the plugin's: their query is left alone.
  const own = await fetch(`${base.replace(/\/ws$/, '/own')}?token=app-link-token`)
  t.same(await own.json(), { url: '/own?token=app-link-token' })
  t.same(seenQuery, { token: 'app-link-token' })
})
