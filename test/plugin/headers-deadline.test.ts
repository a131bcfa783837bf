import { connect as tcpConnect, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { bearer, connect, delay, sign, startServer, type RunningServer } from '../helpers.ts'

const BOUND = 400
// "Closed within the bound", with slack for a loaded machine: far below Node's own 60-90 s.
const SLACK = 5000

function partialRequest (server: RunningServer, request = 'GET /ws HTTP/1.1\r\nHost: x\r\n'): { socket: Socket, closed: Promise<string> } {
  const { port } = new URL(server.url)
  const socket = tcpConnect(Number(port), '127.0.0.1', () => { if (request !== '') socket.write(request) })
  let received = ''
  socket.on('data', (chunk) => { received += chunk.toString() })
  socket.on('error', () => {})
  const closed = new Promise<string>((resolve) => socket.on('close', () => { resolve(received) }))
  return { socket, closed }
}

async function closedWithin (t: Test, { socket, closed }: { socket: Socket, closed: Promise<string> }, ms: number, what: string): Promise<string | undefined> {
  const result = await Promise.race([closed, delay(ms).then(() => undefined)])
  t.not(result, undefined, what)
  // Not closed by the server: closed here, or the server's close would wait for it.
  socket.destroy()
  return result
}

// Issue 14 item 4: after upgrades had been served, a partial request stayed open past
// 125 s, uncounted by any limit. The plugin bounds header delivery itself.
t.test('a connection that never completes its headers is closed within headersTimeout, after upgrades', async (t) => {
  const server = await startServer(t, { plugin: { headersTimeout: BOUND } })
  const good = sign()
  // Upgrades served first: accepted, refused by close (an Origin) and refused by status.
  for (let i = 0; i < 10; i++) {
    const accepted = connect(server.url, bearer(good))
    await accepted.frame('authenticated')
    const byClose = connect(server.url, bearer('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'), { origin: server.origin })
    await byClose.closed
    const byStatus = connect(server.url, bearer('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'))
    await byStatus.refused
    if (i % 2 === 0) accepted.close()
  }
  for (const [name, request] of [['request line and Host, then silence', undefined], ['nothing at all', ''], ['half a request line', 'GET /w']] as const) {
    const received = await closedWithin(t, partialRequest(server, request), BOUND + SLACK, `${name}: closed`)
    if (received !== undefined && request !== '') t.match(received, /^HTTP\/1\.1 408 /, `${name}: answered 408`)
  }
})

t.test('connections that delivered their headers are left alone', async (t) => {
  let release = (): void => {}
  const server = await startServer(t, {
    plugin: {
      headersTimeout: BOUND,
      // A handshake whose checks take longer than the bound: its headers were complete.
      authorize: async () => { await new Promise<void>((resolve) => { release = resolve }); return true }
    },
    setup: (app) => { app.get('/plain', async () => 'ok') }
  })
  const slow = connect(server.url, bearer(sign()))
  await delay(BOUND * 3)
  release()
  t.equal((await slow.frame('authenticated')).subject, 'alice', 'a handshake with slow checks is accepted')

  // A keep-alive connection idle after its first request is keepAliveTimeout's business.
  const { socket, closed } = partialRequest(server, 'GET /plain HTTP/1.1\r\nHost: x\r\n\r\n')
  let open = true
  closed.then(() => { open = false }, () => {})
  await delay(BOUND * 3)
  t.ok(open, 'an idle keep-alive connection after a request stays open')
  socket.write('GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.match(await closed, /200 OK[\s\S]*200 OK/, 'and serves its next request')
  slow.close()
})

t.test('headersTimeout 0 leaves header delivery to Node', async (t) => {
  const server = await startServer(t, { plugin: { headersTimeout: 0 } })
  const { socket, closed } = partialRequest(server)
  let open = true
  closed.then(() => { open = false }, () => {})
  await delay(BOUND * 3)
  t.ok(open, 'still open past the bound')
  socket.destroy()
})
