import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis, type RedisOptions } from 'ioredis'
import { onExit } from 'signal-exit'
import { freePort } from '../../bench/orchestrator/ports.ts'
import { REDIS_SERVER, redisServerReady, redisServerVersion } from '../../bench/orchestrator/redis.ts'

// The benchmark starts its redis-server the same way: one place finds, probes and waits for it.
const installed = redisServerVersion() !== undefined

/**
 * Why Redis tests cannot run here, or `false` when they can. In CI (CI=true) a missing
 * redis-server is a failure, never a skip: the tests then run and fail at start.
 */
export const redisSkip: string | false = installed || process.env.CI === 'true'
  ? false
  : `no ${REDIS_SERVER}: install Debian's redis-server package (CI installs it and never skips)`

/**
 * A real redis-server on 127.0.0.1 and a free port, for one test file. It can be stopped
 * and started again on the same port, with its data (append-only file) or empty.
 */
export class RedisServer {
  readonly port: number
  readonly #dir: string
  #process: ChildProcess | undefined

  private constructor (port: number) {
    this.port = port
    this.#dir = mkdtempSync(join(tmpdir(), 'wsauth-redis-'))
  }

  static async start (): Promise<RedisServer> {
    const server = new RedisServer(await freePort())
    await server.start()
    return server
  }

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** A client that retries quickly, as tests want; closed by the caller. */
  client (options: RedisOptions = {}): Redis {
    const client = new Redis(this.port, '127.0.0.1', { retryStrategy: () => 50, maxRetriesPerRequest: 1, ...options })
    // ioredis reconnects by itself; an error event with no listener would only print.
    client.on('error', () => {})
    return client
  }

  async start (): Promise<void> {
    const child = spawn(REDIS_SERVER, [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.#dir,
      '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--loglevel', 'notice'
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#process = child
    // A test process killed by tap's timeout runs no teardown: take the server down with it.
    const removeExitHook = onExit(() => { child.kill('SIGKILL') })
    child.once('exit', () => { removeExitHook() })
    await redisServerReady(child)
  }

  /** Stops the server; its append-only file stays for the next `start`. */
  async stop (): Promise<void> {
    const child = this.#process
    this.#process = undefined
    if (child === undefined || child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }

  /** Forgets everything: the next `start` is an empty Redis. */
  wipe (): void {
    rmSync(this.#dir, { recursive: true, force: true })
    mkdirSync(this.#dir, { recursive: true })
  }

  async close (): Promise<void> {
    await this.stop()
    rmSync(this.#dir, { recursive: true, force: true })
  }
}
