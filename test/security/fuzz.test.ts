import fc from 'fast-check'
import t from 'tap'
import { isProtocolCloseCode } from '../../protocol/index.ts'
import { bearer, connect, delay, sign, startServer, until } from '../helpers.ts'
import { stillServing } from './harness.ts'

// Bounded: a fixed seed unless FUZZ_SEED is given, a fixed number of runs, loopback only.
const seed = Number(process.env.FUZZ_SEED ?? 20261125)

/** Whether two compact tokens decode to the same bytes (base64url has non-canonical spellings). */
function sameBytes (a: string, b: string): boolean {
  const as = a.split('.')
  const bs = b.split('.')
  return as.length === bs.length && as.every((segment, i) => Buffer.from(segment, 'base64url').equals(Buffer.from(bs[i] as string, 'base64url')))
}

t.test('mutated handshakes never authenticate', async (t) => {
  const server = await startServer(t, { plugin: { refusal: 'status', handshakeLimit: false } })
  const original = sign({ sid: 'fuzz' })
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'
  let authenticated = 0
  let refused = 0
  await fc.assert(fc.asyncProperty(
    fc.array(fc.tuple(fc.nat({ max: original.length - 1 }), fc.constantFrom(...alphabet)), { minLength: 1, maxLength: 4 }),
    async (edits) => {
      const chars = [...original]
      for (const [position, char] of edits) chars[position] = char
      const token = chars.join('')
      const client = connect(server.url, bearer(token))
      const outcome = await Promise.race([
        client.frame('authenticated').then(() => 'authenticated' as const, () => 'closed' as const),
        client.refused.then(({ status }) => status)
      ])
      client.socket.terminate()
      if (outcome === 'authenticated') {
        authenticated++
        return sameBytes(token, original)
      }
      refused++
      return typeof outcome === 'number' && outcome >= 400 && outcome < 500
    }), { seed, numRuns: 80 })
  t.ok(refused > 0, `${refused} mutated tokens refused, ${authenticated} accepted with identical bytes`)
  await stillServing(t, server)
})

const frameArbitrary = fc.oneof(
  fc.string({ maxLength: 64 }),
  fc.json({ maxDepth: 2 }),
  fc.record({
    type: fc.constantFrom('auth', 'renew', 'renewed', 'renew_required', 'auth_error', 'authenticated', 'authx', 'renewal', 'chat'),
    token: fc.oneof(fc.string({ maxLength: 40 }), fc.constant('bad.token.here'), fc.constant('')),
    id: fc.oneof(fc.string({ maxLength: 80 }), fc.integer(), fc.constant(undefined))
  }, { requiredKeys: ['type'] }).map((frame) => JSON.stringify(frame)),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes))
)

t.test('random frames on an authenticated connection', async (t) => {
  const server = await startServer(t, { plugin: { renewalLimit: false, maxRenewalFailures: 5 } })
  const closes: number[] = []
  await fc.assert(fc.asyncProperty(fc.array(frameArbitrary, { minLength: 1, maxLength: 20 }), async (frames) => {
    const client = connect(server.url, bearer(sign({ sid: 'fuzz' })))
    await client.frame('authenticated')
    for (const frame of frames) {
      if (client.socket.readyState !== client.socket.OPEN) break
      client.send(frame)
    }
    await Promise.race([client.closed, delay(30)])
    client.socket.terminate()
    const { code } = await client.closed
    closes.push(code)
    // Nothing random may renew (no valid token was sent), and every close is documented.
    return client.frames('renewed').length === 0 && (code === 1006 || code === 1005 || isProtocolCloseCode(code))
  }), { seed, numRuns: 60 })
  t.ok(closes.length === 60, 'every run completed')
  await stillServing(t, server)
  await until(() => server.app.wsAuth.size === 0)
  t.equal(server.app.wsAuth.size, 0, 'no connection left registered')
})
