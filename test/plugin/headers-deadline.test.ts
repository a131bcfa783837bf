import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect as tcpConnect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
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
  // Upgrades served first: accepted, refused by close and refused by status.
  for (let i = 0; i < 10; i++) {
    const accepted = connect(server.url, bearer(good))
    await accepted.frame('authenticated')
    const byClose = connect(server.url, bearer('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'), { origin: server.origin })
    await byClose.closed
    // A bearer entry without the version is malformed (400): always refused by status.
    const byStatus = connect(server.url, bearer('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln').slice(1))
    t.equal((await byStatus.refused).status, 400)
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

// The FIFO of deadlines held every accepted socket until its deadline, upgraded or not: with
// thousands of handshakes a second, every socket (and its WebSocket and connection) of the
// last headersTimeout stayed alive, and major GCs came with the handshake rate.
t.test('an upgraded socket is not kept alive until its headers deadline', async (t) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const sockets: Array<WeakRef<object>> = []
  const server = await startServer(t, {
    // Far beyond the test: only the upgrade can release the socket in time.
    plugin: { headersTimeout: 600_000 },
    handler: (socket, request) => {
      sockets.push(new WeakRef(request.raw.socket))
      socket.on('message', (data) => { socket.send(data) })
    }
  })
  const token = sign()
  for (let i = 0; i < 3; i++) {
    const client = connect(server.url, bearer(token))
    await client.frame('authenticated')
    client.close()
    await client.closed
  }
  t.equal(sockets.length, 3)
  let alive = sockets.length
  for (let i = 0; i < 20 && alive > 0; i++) {
    await delay(50)
    gc()
    alive = sockets.filter((ref) => ref.deref() !== undefined).length
  }
  t.equal(alive, 0, 'every closed upgraded socket was collected')
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

t.test('on a TLS server the bound runs from the end of the TLS handshake', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-auth-headers-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
  const server = await startServer(t, {
    plugin: { headersTimeout: BOUND },
    fastify: { https: { key: readFileSync(keyFile), cert: readFileSync(certFile) } } as never,
    setup: (app) => { app.get('/plain', async () => 'ok') }
  })
  const port = Number(new URL(server.url).port)
  const open = (request: string): { socket: Socket, closed: Promise<string> } => {
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => { socket.write(request) })
    let received = ''
    socket.on('data', (chunk) => { received += chunk.toString() })
    socket.on('error', () => {})
    return { socket, closed: new Promise((resolve) => socket.on('close', () => { resolve(received) })) }
  }
  const received = await closedWithin(t, open('GET /ws HTTP/1.1\r\nHost: x\r\n'), BOUND + SLACK, 'a partial request over TLS: closed')
  t.match(received, /^HTTP\/1\.1 408 /, 'answered 408')

  const keptAlive = open('GET /plain HTTP/1.1\r\nHost: x\r\n\r\n')
  let stillOpen = true
  keptAlive.closed.then(() => { stillOpen = false }, () => {})
  await delay(BOUND * 3)
  t.ok(stillOpen, 'a TLS keep-alive connection after a request stays open')
  keptAlive.socket.destroy()
})
