import fc from 'fast-check'
import t from 'tap'
import { FrameType, isServerFrame } from '../../protocol/index.ts'
import { encodeAuthenticated } from '../../plugin/socket-io.ts'
import { SECRET, bearer, connect, sign, startServer } from '../helpers.ts'

// `authenticated` is written as text, not through JSON.stringify of an object: the text
// must be exactly what JSON.stringify gives, for any subject and session a token may carry.
t.test('encodeAuthenticated is JSON.stringify of the frame', async (t) => {
  const identifier = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 })
  fc.assert(fc.property(fc.uuid(), identifier, fc.option(identifier, { nil: undefined }),
    fc.integer({ min: 0, max: 8.64e15 }), fc.integer({ min: 0, max: 2 ** 31 }),
    (connectionId, subject, sessionId, expiresAt, expiresIn) => {
      const frame: Record<string, unknown> = { type: FrameType.Authenticated, connectionId, subject, expiresAt, expiresIn }
      if (sessionId !== undefined) frame.sessionId = sessionId
      const text = encodeAuthenticated(connectionId, subject, sessionId, expiresAt, expiresIn)
      return text === JSON.stringify(frame) && isServerFrame(JSON.parse(text))
    }), { seed: 20261125, numRuns: 2000 })
  t.pass('2,000 generated frames, quotes, backslashes, control characters and lone surrogates included')
})

t.test('a subject and session that need escaping arrive intact', async (t) => {
  const server = await startServer(t)
  const subject = 'ali"ce\\ \u0000 \u2028 ✓ \ud83d'
  const sessionId = '</script>"\n'
  const client = connect(server.url, bearer(sign({ sub: subject, sid: sessionId })))
  const frame = await client.frame('authenticated')
  t.ok(isServerFrame(frame), 'a valid authenticated frame')
  t.match(frame, { subject, sessionId })
  client.close()
})

t.test('a fractional exp still gives integer deadlines (the frames\' fields are integers)', async (t) => {
  const server = await startServer(t, { plugin: { verify: { algorithms: ['HS256'], key: SECRET, clockTolerance: 2 } } })
  const exp = Math.floor(Date.now() / 1000) + 60.1234567
  const client = connect(server.url, bearer(sign({ exp })))
  const frame = await client.frame('authenticated') as { expiresAt: number, expiresIn: number }
  t.ok(isServerFrame(frame), 'valid against the schema')
  t.equal(frame.expiresAt, Math.floor(exp * 1000) + 2000, 'rounded down, never later than exp + tolerance')
  t.ok(Number.isInteger(frame.expiresIn))
  client.close()
})
