import type { BenchKeys, CheckResult, TargetName } from '../shared/protocol.ts'
import { clientSpec } from '../scenarios/clients.ts'
import { startServer, type GeneratorHandle, type Pinning, type ServerHandle } from './processes.ts'

/**
 * Server processes by target, started on first use and kept for the scenarios that follow
 * (idle servers cost nothing). Every WebSocket target is checked end to end with a real
 * client when it starts; the checks go into the results.
 */
export class Servers {
  readonly checks: Record<string, CheckResult> = {}
  readonly #running = new Map<TargetName, ServerHandle>()
  readonly #keys: BenchKeys
  readonly #pinning: Pinning
  readonly #generator: GeneratorHandle
  readonly #profileDir: string | undefined
  readonly #buildDir: string
  readonly #baseBuildDir: string | undefined
  readonly #nodePath: string | undefined

  /**
   * `baseBuildDir`: the build of the `--against` revision, for target `plugin-hs256-base`;
   * `nodePath`: the Node binary every server runs under (`--node`).
   */
  constructor (keys: BenchKeys, pinning: Pinning, generator: GeneratorHandle, buildDir: string, profileDir: string | undefined, baseBuildDir?: string, nodePath?: string) {
    this.#nodePath = nodePath
    this.#keys = keys
    this.#pinning = pinning
    this.#generator = generator
    this.#buildDir = buildDir
    this.#baseBuildDir = baseBuildDir
    this.#profileDir = profileDir
  }

  async get (target: TargetName): Promise<ServerHandle> {
    const running = this.#running.get(target)
    if (running !== undefined) return running
    const server = await this.fresh(target)
    this.#running.set(target, server)
    return server
  }

  /**
   * A new process of its own, not shared (the memory scenario wants an untouched heap;
   * the Redis scenarios start several instances of one target). The caller stops it.
   */
  async fresh (target: TargetName, extra: { redisUrl?: string } = {}): Promise<ServerHandle> {
    let buildDir = this.#buildDir
    if (target === 'plugin-hs256-base') {
      if (this.#baseBuildDir === undefined) throw new Error('target plugin-hs256-base needs --against REV')
      buildDir = this.#baseBuildDir
    }
    const server = await startServer(target, this.#keys, this.#pinning, { buildDir, profileDir: this.#profileDir, nodePath: this.#nodePath, ...extra })
    if (target !== 'app' && this.checks[target] === undefined) {
      this.checks[target] = await this.#generator.run<CheckResult>({ kind: 'check', client: clientSpec(server, 'echo') }, 30_000)
      if (!this.checks[target].ok) throw new Error(`end-to-end check of ${target} failed: ${this.checks[target].error ?? ''}`)
    }
    return server
  }

  async stop (target: TargetName): Promise<void> {
    const server = this.#running.get(target)
    this.#running.delete(target)
    await server?.stop()
  }

  async stopAll (): Promise<void> {
    const servers = [...this.#running.values()]
    this.#running.clear()
    await Promise.all(servers.map((server) => server.stop()))
  }
}
