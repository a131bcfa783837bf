// The processes of a fault run: one redis-server that can be killed, frozen and restarted
// on the same port and directory, the proxy in front of it, and the plugin instances.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onExit } from 'signal-exit'
import { freePort } from '../orchestrator/ports.ts'
import { REDIS_SERVER, redisServerReady } from '../orchestrator/redis.ts'

const children = new Set<ChildProcess>()
// A run stopped by a signal or a test timeout takes its children with it.
onExit(() => { for (const child of children) child.kill('SIGKILL') })

function track (child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => { children.delete(child) })
  return child
}

export type Fsync = 'everysec' | 'always'

export class RedisProcess {
  readonly port: number
  readonly #dir = mkdtempSync(join(tmpdir(), 'wsauth-faults-'))
  #child: ChildProcess | undefined
  fsync: Fsync = 'everysec'

  private constructor (port: number) {
    this.port = port
  }

  static async start (): Promise<RedisProcess> {
    const redis = new RedisProcess(await freePort())
    await redis.start()
    return redis
  }

  get pid (): number {
    return this.#child?.pid ?? 0
  }

  async start (): Promise<void> {
    const child = track(spawn(REDIS_SERVER, [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.#dir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', this.fsync, '--daemonize', 'no', '--loglevel', 'notice'
    ], { stdio: ['ignore', 'pipe', 'pipe'] }))
    this.#child = child
    await redisServerReady(child)
  }

  /** SIGKILL: no shutdown, no last fsync; what the append-only file holds is what survives. */
  async kill (): Promise<void> {
    const child = this.#child
    this.#child = undefined
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }

  signal (signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.#child?.kill(signal)
  }

  /** Forgets everything (a Redis restarted without persistence). */
  wipe (): void {
    rmSync(this.#dir, { recursive: true, force: true })
    mkdirSync(this.#dir, { recursive: true })
  }

  async close (): Promise<void> {
    this.signal('SIGCONT')
    await this.kill()
    rmSync(this.#dir, { recursive: true, force: true })
  }
}

export interface InstanceSettings {
  redisPort: number
  secret: string
  prefix: string
  leaseMs: number
  maxPerSubject: number
  commandTimeoutMs: number
}

/** A plugin instance in its own Node process (bench/faults/instance.ts). */
export class InstanceProcess {
  readonly index: number
  readonly port: number
  readonly #child: ChildProcess
  /** Why it exited, when it was not the run that killed it. */
  crashed: string | undefined
  killed = false

  private constructor (index: number, port: number, child: ChildProcess) {
    this.index = index
    this.port = port
    this.#child = child
    child.once('exit', (code, signal) => {
      if (!this.killed) this.crashed = `exited with ${String(code)} / ${String(signal)}`
    })
  }

  static async start (index: number, settings: InstanceSettings): Promise<InstanceProcess> {
    const child = track(spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'instance.ts')], {
      env: {
        ...process.env,
        FAULTS_REDIS_PORT: String(settings.redisPort),
        FAULTS_SECRET: settings.secret,
        FAULTS_PREFIX: settings.prefix,
        FAULTS_LEASE_MS: String(settings.leaseMs),
        FAULTS_MAX_PER_SUBJECT: String(settings.maxPerSubject),
        FAULTS_COMMAND_TIMEOUT_MS: String(settings.commandTimeoutMs)
      },
      stdio: ['ignore', 'pipe', 'pipe']
    }))
    let output = ''
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`instance ${index} did not start: ${output}`)) }, 30_000)
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        const match = /LISTENING (\d+)/.exec(output)
        if (match !== null) { clearTimeout(timer); resolve(Number(match[1])) }
      })
      child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`instance ${index} exited with ${String(code)}: ${output}`)) })
    })
    return new InstanceProcess(index, port, child)
  }

  get url (): string {
    return `ws://127.0.0.1:${this.port}/ws`
  }

  get alive (): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null
  }

  async request (method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number, body: any }> {
    const response = await fetch(`http://127.0.0.1:${this.port}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000)
    })
    return { status: response.status, body: await response.json() }
  }

  async kill (signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    if (!this.alive) return
    this.killed = true
    const exited = new Promise((resolve) => this.#child.once('exit', resolve))
    this.#child.kill(signal)
    await exited
  }
}
