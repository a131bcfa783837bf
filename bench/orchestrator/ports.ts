import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/** The lowest port this picker hands out: above the well-known and most registered services' ports. */
const LOWEST = 10_000

/**
 * The first port of the kernel's ephemeral range (ip_local_port_range), from which every
 * connect() without a bind takes its source port and every listen(0) its port.
 */
function ephemeralStart (): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    if (Number.isInteger(low) && low > LOWEST + 1000) return low
  } catch {}
  return 32_768
}

async function canListen (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => { resolve(false) })
    server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true) }) })
  })
}

/**
 * A loopback TCP port nothing listens on now, for a process that takes its port by number
 * (redis-server, a cluster node's bus, a server that must know its Origin before it
 * listens). It is chosen below the ephemeral range on purpose: a port from listen(0) is
 * free only until a client elsewhere in the suite connects and the kernel hands it out as
 * that connection's source port, and on a busy run redis-server then fails with "Address
 * already in use" (seen in the cluster test). A random pick keeps concurrent test files
 * apart.
 */
export async function freePort (): Promise<number> {
  const highest = ephemeralStart() - 1
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (highest - LOWEST + 1))
    if (await canListen(port)) return port
  }
  throw new Error(`no free port between ${LOWEST} and ${highest} after 100 tries`)
}
