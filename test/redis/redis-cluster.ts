import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, Redis, type ClusterOptions } from 'ioredis'
import { onExit } from 'signal-exit'
import { freePort } from '../../bench/orchestrator/ports.ts'
import { REDIS_SERVER, redisServerReady } from '../../bench/orchestrator/redis.ts'
import { redisSkip } from './server.ts'

const REDIS_CLI = process.env.REDIS_CLI_PATH ?? 'redis-cli'

/**
 * Why cluster tests cannot run here, or `false`. redis-cli (Debian's redis-tools, which
 * redis-server depends on) builds the cluster; under CI=true nothing is skipped.
 */
export const clusterSkip: string | false = redisSkip !== false
  ? redisSkip
  : spawnSync(REDIS_CLI, ['--version']).status === 0 || process.env.CI === 'true'
    ? false
    : `no ${REDIS_CLI}: install Debian's redis-tools package (CI installs it and never skips)`

interface Node {
  readonly port: number
  readonly busPort: number
  process: ChildProcess | undefined
}

/**
 * A Redis Cluster of real redis-server processes on 127.0.0.1 (3 masters, each with one
 * replica), for one test file: cluster startup takes seconds, so files share one.
 */
export class RedisCluster {
  readonly nodes: Node[]
  readonly #dir: string

  private constructor (nodes: Node[]) {
    this.nodes = nodes
    this.#dir = mkdtempSync(join(tmpdir(), 'wsauth-cluster-'))
  }

  static async start (): Promise<RedisCluster> {
    const nodes: Node[] = []
    // The bus port is given explicitly: port + 10000 (the default) may not be free or valid.
    for (let i = 0; i < 6; i++) nodes.push({ port: await freePort(), busPort: await freePort(), process: undefined })
    const cluster = new RedisCluster(nodes)
    try {
      await Promise.all(nodes.map((node) => cluster.#spawn(node)))
      const create = spawnSync(REDIS_CLI, ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas', '1', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 })
      if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout.slice(-800)} ${create.stderr}`)
      await cluster.ready()
    } catch (err) {
      await cluster.close()
      throw err
    }
    return cluster
  }

  async #spawn (node: Node): Promise<void> {
    const child = spawn(REDIS_SERVER, [
      '--port', String(node.port), '--cluster-port', String(node.busPort), '--bind', '127.0.0.1',
      '--dir', this.#dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${node.port}.conf`,
      '--cluster-node-timeout', '1000', '--appendonly', 'no', '--save', '', '--daemonize', 'no', '--loglevel', 'notice'
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    node.process = child
    const removeExitHook = onExit(() => { child.kill('SIGKILL') })
    child.once('exit', () => { removeExitHook() })
    await redisServerReady(child)
  }

  /** Waits until every live node reports `cluster_state:ok` and agrees on 3 masters. */
  async ready (timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const states = await Promise.all(this.nodes.filter((n) => n.process !== undefined).map(async (n) => await this.#command(n.port, 'CLUSTER', 'INFO')))
      if (states.every((info) => /cluster_state:ok/.test(info) && /cluster_size:3/.test(info))) return
      if (Date.now() > deadline) throw new Error(`cluster not ok after ${timeoutMs} ms: ${states.join(' | ')}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  async #command (port: number, ...args: string[]): Promise<string> {
    const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on('error', () => {})
    try {
      await client.connect()
      return String(await client.call(args[0] as string, ...args.slice(1)))
    } catch (err) {
      return `error: ${(err as Error).message}`
    } finally {
      client.disconnect()
    }
  }

  /** Ports of the masters, and of the replica of each, as the cluster reports them now. */
  async roles (): Promise<Array<{ port: number, master: boolean, masterPort?: number }>> {
    const out = await this.#command(this.nodes[0]?.port as number, 'CLUSTER', 'NODES')
    const lines = out.trim().split('\n').map((line) => line.split(' '))
    const portOf = new Map(lines.map((f) => [f[0], Number((f[1] ?? '').split(':')[1]?.split('@')[0])]))
    return lines.filter((f) => !(f[2] ?? '').includes('fail')).map((f) => ({
      port: portOf.get(f[0]) as number,
      master: (f[2] ?? '').includes('master'),
      masterPort: f[3] === '-' ? undefined : portOf.get(f[3])
    }))
  }

  /** Subscribers of a shard channel, per node port (a replica of the shard may serve some). */
  async subscribers (channel: string): Promise<Map<number, number>> {
    const counts = new Map<number, number>()
    for (const node of this.nodes.filter((n) => n.process !== undefined)) {
      const client = new Redis(node.port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null })
      client.on('error', () => {})
      try {
        counts.set(node.port, (await client.call('PUBSUB', 'SHARDNUMSUB', channel) as [string, number])[1])
      } catch {
        counts.set(node.port, 0)
      } finally {
        client.disconnect()
      }
    }
    return counts
  }

  /** The port of the master serving `key`'s slot. */
  async masterOf (key: string): Promise<number> {
    const slot = Number(await this.#command(this.nodes[0]?.port as number, 'CLUSTER', 'KEYSLOT', key))
    const shards = JSON.parse(JSON.stringify(await this.#slots())) as Array<[number, number, [string, number]]>
    const shard = shards.find(([from, to]) => slot >= from && slot <= to)
    if (shard === undefined) throw new Error(`no master for slot ${slot}`)
    return shard[2][1]
  }

  async #slots (): Promise<unknown> {
    const client = new Redis(this.nodes[0]?.port as number, '127.0.0.1', { maxRetriesPerRequest: 0 })
    client.on('error', () => {})
    try {
      return await client.call('CLUSTER', 'SLOTS')
    } finally {
      client.disconnect()
    }
  }

  /**
   * A graceful manual failover: the replica of the master on `masterPort` takes over once it
   * has caught up (`CLUSTER FAILOVER`, so no acknowledged write is lost).
   */
  async failover (masterPort: number): Promise<number> {
    const replica = (await this.roles()).find((r) => !r.master && r.masterPort === masterPort)
    if (replica === undefined) throw new Error(`no replica of ${masterPort}`)
    const answer = await this.#command(replica.port, 'CLUSTER', 'FAILOVER')
    if (answer !== 'OK') throw new Error(`CLUSTER FAILOVER: ${answer}`)
    const deadline = Date.now() + 15_000
    while (!(await this.roles()).some((r) => r.port === replica.port && r.master)) {
      if (Date.now() > deadline) throw new Error('failover did not complete within 15 s')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await this.ready()
    return replica.port
  }

  /** A Cluster client that retries quickly, as tests want; closed by the caller. */
  client (options: ClusterOptions = {}): Cluster {
    const client = new Cluster(this.nodes.slice(0, 3).map((n) => ({ host: '127.0.0.1', port: n.port })), {
      clusterRetryStrategy: () => 50,
      retryDelayOnFailover: 50,
      retryDelayOnClusterDown: 50,
      ...options,
      redisOptions: { maxRetriesPerRequest: 1, ...options.redisOptions }
    })
    client.on('error', () => {})
    return client
  }

  async close (): Promise<void> {
    await Promise.all(this.nodes.map(async (node) => {
      const child = node.process
      node.process = undefined
      if (child === undefined || child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }))
    rmSync(this.#dir, { recursive: true, force: true })
  }
}
