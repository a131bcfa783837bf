import { once } from 'node:events'
import { createConnection, createServer, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { ClosingReads, RESUME_SLICE } from '../../plugin/closing-reads.ts'

// Real TCP sockets on 127.0.0.1, read in flowing mode (a 'data' listener), as ws reads them.
async function socketPairs (t: Test, n: number): Promise<Socket[]> {
  const accepted: Socket[] = []
  const server = createServer((socket) => {
    socket.on('data', () => {})
    accepted.push(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  const clients = Array.from({ length: n }, () => createConnection(port, '127.0.0.1'))
  t.teardown(() => {
    for (const c of clients) c.destroy()
    for (const s of accepted) s.destroy()
    server.close()
  })
  while (accepted.length < n) await new Promise((resolve) => setImmediate(resolve))
  return accepted
}

const turn = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }
const paused = (sockets: Socket[]): number => sockets.filter((s) => s.isPaused()).length

t.test('held sockets stop reading until release, then resume a slice per turn of the loop', async (t) => {
  const n = 2 * RESUME_SLICE + 5
  const sockets = await socketPairs(t, n)
  const reads = new ClosingReads()
  t.equal(paused(sockets), 0, 'flowing before')
  for (const socket of sockets) reads.hold(socket)
  t.equal(paused(sockets), n, 'every held socket is paused')
  t.equal(reads.size, n)
  reads.release()
  t.equal(paused(sockets), n - RESUME_SLICE, 'the first slice resumes at once')
  await turn()
  t.equal(paused(sockets), n - 2 * RESUME_SLICE, 'the next one turn later')
  await turn()
  t.equal(paused(sockets), 0, 'then the rest')
  t.equal(reads.size, 0)
})

t.test('a hold made while a release is under way waits for the next release', async (t) => {
  const sockets = await socketPairs(t, RESUME_SLICE + 10)
  const [first, later] = [sockets.slice(0, RESUME_SLICE + 5), sockets.slice(RESUME_SLICE + 5)]
  const reads = new ClosingReads()
  for (const socket of first) reads.hold(socket)
  reads.release()
  for (const socket of later) reads.hold(socket)
  await turn()
  await turn()
  t.equal(paused(first), 0, 'the released ones all resumed')
  t.equal(paused(later), later.length, 'the later burst is still held')
  t.equal(reads.size, later.length)
  reads.release()
  t.equal(paused(later), 0, 'until its own release')
})

t.test('a socket already paused (by ws, for backpressure) or destroyed is not held', async (t) => {
  const [byWs, gone, open] = await socketPairs(t, 3) as [Socket, Socket, Socket]
  byWs.pause()
  gone.destroy()
  const reads = new ClosingReads()
  for (const socket of [byWs, gone, open]) reads.hold(socket)
  t.equal(reads.size, 1, 'only the flowing one')
  reads.release()
  t.ok(byWs.isPaused(), 'ws\'s pause is left for ws to lift')
  t.notOk(open.isPaused())
  reads.release()
  t.equal(reads.size, 0, 'a release with nothing held does nothing')
})
