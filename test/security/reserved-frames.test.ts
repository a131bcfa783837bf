import { readFileSync } from 'node:fs'
import t from 'tap'
import { CloseCode, MAX_CLIENT_FRAME_BYTES, RESERVED_FRAME_TYPES } from '../../protocol/index.ts'
import { bearer, connect, sign, startServer, type TestClient } from '../helpers.ts'
import { stillServing } from './harness.ts'

// Issue 14, item 2: a `renew` frame of 16,897 bytes was delivered to the route handler as
// an application message, token inside, while one of 16,896 bytes was refused. No frame
// whose `type` is reserved reaches the application, whatever its size or spelling
// (SPEC.md section 4): up to the limit it is handled as the protocol frame it is; over it,
// the server answers auth_error frame_invalid (closing) and closes with 4400.

const LIMIT = MAX_CLIENT_FRAME_BYTES

/** The close, or the application's echo of the frame if it got through (so a regression fails instead of hanging). */
async function closeOrEcho (client: TestClient): Promise<unknown> {
  return await Promise.race([client.closed, client.waitFor((m) => typeof m === 'object' && m !== null && 'pad' in m).catch(() => client.closed)])
}

/** `{"type":"<type>",…,"pad":"…"}` of exactly `bytes` bytes, written with `head` before the pad. */
function frameOf (head: string, bytes: number): string {
  const text = `${head},"pad":""}`
  if (bytes < text.length) throw new Error('too small')
  return `${head},"pad":"${'p'.repeat(bytes - text.length)}"}`
}

t.test('reserved frames at the limit -1, the limit, +1 and far above, for every reserved type', async (t) => {
  const server = await startServer(t)
  for (const type of RESERVED_FRAME_TYPES) {
    for (const bytes of [LIMIT - 1, LIMIT, LIMIT + 1, 20 * LIMIT]) {
      const text = frameOf(`{"type":"${type}","id":"big"`, bytes)
      const client = connect(server.url, bearer(sign()))
      await client.frame('authenticated')
      client.send(text)
      if (bytes <= LIMIT) {
        t.match(await client.frame('auth_error'), { code: 'frame_invalid', closing: false, id: 'big' }, `${type}, ${bytes} bytes: refused as a malformed frame`)
        client.send('sync')
        await client.waitFor((m) => m === 'sync')
        client.close()
      } else {
        t.same(await closeOrEcho(client), { code: CloseCode.BadRequest, reason: 'frame_invalid' }, `${type}, ${bytes} bytes: closed 4400`)
        t.match(client.frames('auth_error'), [{ code: 'frame_invalid', closing: true, retry: false, message: /larger than 16896 bytes/ }])
      }
      t.notOk(client.raw.some(({ data }) => data.length >= LIMIT - 1), `${type}, ${bytes} bytes: never echoed by the application`)
      client.socket.terminate()
    }
  }
  await stillServing(t, server)
})

t.test('an oversized renew carrying a valid token is refused, not delivered and not renewed', async (t) => {
  const server = await startServer(t)
  const token = sign({ exp: Date.now() / 1000 + 600 })
  const variants = [
    `{"type":"renew","token":"${token}"`,
    `{ "type" : "renew" , "token" : "${token}"`,
    `{"token":"${token}","type":"renew"`,
    `{"typ\\u0065":"renew","token":"${token}"`,
    `{"type":"\\u0072enew","token":"${token}"`,
    `{"type":"re\\u006Eew","token":"${token}"`
  ]
  for (const head of variants) {
    for (const bytes of [LIMIT + 1, 1024 * 1024 - 64]) {
      const client = connect(server.url, bearer(sign()))
      await client.frame('authenticated')
      client.send(frameOf(head, bytes))
      t.same(await closeOrEcho(client), { code: CloseCode.BadRequest, reason: 'frame_invalid' }, `${head.slice(0, 24)}…, ${bytes} bytes`)
      t.same(client.frames('renewed'), [])
      t.notOk(client.raw.some(({ data }) => data.includes(token.split('.')[2] as string)), 'the token never came back')
      client.socket.terminate()
    }
  }
  await stillServing(t, server)
})

t.test('small reserved frames in any spelling are protocol frames', async (t) => {
  const server = await startServer(t)
  const client = connect(server.url, bearer(sign({ sid: 'x' })))
  await client.frame('authenticated')
  const renewals = [
    `{ "type" : "renew" , "token" : "${sign({ sid: 'x', exp: Date.now() / 1000 + 601 })}", "id" : "spaced" }`,
    `{"id":"escaped-key","token":"${sign({ sid: 'x', exp: Date.now() / 1000 + 602 })}","typ\\u0065":"renew"}`,
    `{"type":"\\u0072\\u0065\\u006e\\u0065\\u0077","token":"${sign({ sid: 'x', exp: Date.now() / 1000 + 603 })}","id":"escaped-value"}`
  ]
  for (const text of renewals) {
    const from = client.messages.length
    client.send(text)
    t.match(await client.frame('renewed', from), { id: (JSON.parse(text) as { id: string }).id })
  }
  const from = client.messages.length
  client.send('{"type":"renew\\u005frequired","id":"server-only"}')
  t.match(await client.frame('auth_error', from), { code: 'frame_invalid', closing: false, id: 'server-only' })
  t.notOk(client.messages.some((m) => typeof m === 'object' && m !== null && 'token' in m), 'nothing echoed')
  client.close()
})

t.test('large application messages that only look alike still reach the application', async (t) => {
  const server = await startServer(t)
  const client = connect(server.url, bearer(sign()))
  await client.frame('authenticated')
  const messages = [
    frameOf('{"type":"renewal_stats"', 4 * LIMIT),
    frameOf('{"type":"chat","text":"renew","author":"auth"', 4 * LIMIT),
    frameOf('{"type":"chat","text":"\\u0072enew"', 4 * LIMIT),
    frameOf('{"type":"chat","nested":{"type":"renew"}', 4 * LIMIT),
    `["renew","${'p'.repeat(4 * LIMIT)}"]`
  ]
  for (const text of messages) {
    client.send(text)
    await client.waitFor((m) => JSON.stringify(m) === JSON.stringify(JSON.parse(text)))
    t.pass(`${text.slice(0, 40)}…: delivered`)
  }
  t.equal(client.socket.readyState, client.socket.OPEN)
  client.close()
})

t.test('SPEC.md and the README state the limit the server applies', async (t) => {
  const spaced = MAX_CLIENT_FRAME_BYTES.toLocaleString('en-US').replace(/,/g, ' ')
  const spec = readFileSync(new URL('../../SPEC.md', import.meta.url), 'utf8')
  t.match(spec, `Protocol frames from the client MUST be at most ${spaced} bytes`)
  t.match(spec, `protocol frames from the client ${spaced} bytes`)
  t.match(readFileSync(new URL('../../README.md', import.meta.url), 'utf8'), `${MAX_CLIENT_FRAME_BYTES.toLocaleString('en-US')} bytes for a protocol frame`)
})
