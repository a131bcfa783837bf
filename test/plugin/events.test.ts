import t from 'tap'
import type { AuthenticatedConnection } from '../../plugin/index.ts'
import { bearer, connect, nowSeconds, sign, startServer, until } from '../helpers.ts'

// The connection drops EventEmitter's listener table until the first listener (memory per
// idle connection): every part of the EventEmitter API must still behave.
t.test('the EventEmitter API of a connection, from no listener on', async (t) => {
  let connection: AuthenticatedConnection | undefined
  const seen: string[] = []
  const { url } = await startServer(t, {
    handler: (socket, request) => {
      connection = request.wsAuth
      t.same(connection.eventNames(), [], 'no listener yet')
      t.equal(connection.listenerCount('renewed'), 0)
      t.equal(connection.emit('renewed', {} as never), false, 'emit with no listener')
      t.equal(connection.removeListener('renewed', () => {}), connection, 'removing from nothing')
      const once = (): void => { seen.push('once') }
      connection.once('renewed', once)
      connection.prependListener('renewed', () => { seen.push('first') })
      const removed = (): void => { seen.push('removed') }
      connection.on('renewed', removed)
      connection.off('renewed', removed)
      t.equal(connection.listenerCount('renewed'), 2)
      t.same(connection.eventNames(), ['renewed'])
      socket.on('message', (data) => { socket.send(data) })
    }
  })
  const client = connect(url, bearer(sign({ exp: nowSeconds() + 60 })))
  await client.frame('authenticated')
  client.send({ type: 'renew', token: sign({ exp: nowSeconds() + 120 }) })
  await client.frame('renewed')
  client.send({ type: 'renew', token: sign({ exp: nowSeconds() + 180 }) })
  await until(() => client.frames('renewed').length === 2)
  t.same(seen, ['first', 'once', 'first'], 'prepend first, once once, the removed one never')
  t.equal(connection?.listenerCount('renewed'), 1)
  const closed = new Promise<number>((resolve) => connection?.on('close', resolve))
  client.socket.close(1000)
  t.equal(await closed, 1000)
  connection?.removeAllListeners()
  t.same(connection?.eventNames(), [])
})
