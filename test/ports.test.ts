import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import t from 'tap'
import { freePort } from '../bench/orchestrator/ports.ts'

const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])

// A port from listen(0) comes out of the ephemeral range, where any connection of a busy
// suite may take it as its source port before redis-server binds it: the cluster test
// failed so ("Address already in use"). The picker stays below that range.
t.test('freePort picks a listenable loopback port below the ephemeral range', async (t) => {
  const ports = new Set<number>()
  for (let i = 0; i < 50; i++) {
    const port = await freePort()
    t.ok(port >= 10_000 && port < ephemeralStart, `${port} is below the ephemeral range (${ephemeralStart})`)
    ports.add(port)
  }
  t.ok(ports.size > 40, `random picks (${ports.size} distinct of 50), so that concurrent files do not collide`)

  const port = await freePort()
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
  t.teardown(() => { server.close() })
  t.pass(`port ${port} could be listened on`)
})
