import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchKeys, Job, JobRequest, JobResponse, ServerInit, ServerReady, TargetName } from '../shared/protocol.ts'

/** The server under test runs on this core, the load generator (and the orchestrator) on the other. */
export const SERVER_CPU = 0
export const GENERATOR_CPU = 1

export interface Pinning {
  available: boolean
  detail: string
}

/** Whether `taskset` works here; without it the run goes on unpinned and says so. */
export function detectPinning (): Pinning {
  const probe = spawnSync('taskset', ['-c', String(SERVER_CPU), 'true'], { stdio: 'ignore' })
  if (probe.status === 0) return { available: true, detail: `server on CPU ${SERVER_CPU}, generator and orchestrator on CPU ${GENERATOR_CPU} (taskset)` }
  return { available: false, detail: `taskset unavailable (${probe.error?.message ?? `exit ${String(probe.status)}`}): processes are not pinned` }
}

/** Moves this process (every thread) off the server's core. */
export function pinSelf (pinning: Pinning): void {
  if (pinning.available) spawnSync('taskset', ['-a', '-p', '-c', String(GENERATOR_CPU), String(process.pid)], { stdio: 'ignore' })
}

const children = new Set<ChildProcess>()
let handlersInstalled = false

/** Every child is killed when the orchestrator exits, however it exits. */
export function track (child: ChildProcess): void {
  children.add(child)
  child.once('exit', () => { children.delete(child) })
  if (handlersInstalled) return
  handlersInstalled = true
  process.once('exit', killChildren)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killChildren()
      process.exit(130)
    })
  }
}

export function killChildren (): void {
  for (const child of children) {
    // By pid, one at a time: only the processes this run started.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

function spawnNode (cpu: number, pinning: Pinning, script: string, nodeFlags: string[], env: Record<string, string>, execPath = process.execPath): ChildProcess {
  const node = [...nodeFlags, '--import', 'tsx', fileURLToPath(new URL(script, import.meta.url))]
  const [command, args] = pinning.available
    ? ['taskset', ['-c', String(cpu), execPath, ...node]]
    : [execPath, node]
  // taskset execs node in place: the pid and the IPC channel are node's.
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } })
  track(child)
  return child
}

function exited (child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => { resolve() })
  })
}

async function stopChild (child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  if (child.connected) child.send({ type: 'stop' })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, graceMs)
  await exited(child)
  clearTimeout(timer)
}

export interface ServerHandle {
  target: TargetName
  pid: number
  port: number
  controlPort: number
  stop (): Promise<void>
}

export interface ServerStartOptions {
  /** The compiled plugin (orchestrator/build.ts). */
  buildDir: string
  profileDir?: string
  /** plugin-redis: the shared redis-server. */
  redisUrl?: string
  /** The Node binary of the server (`--node`); the orchestrator's when not given. */
  nodePath?: string
}

/** The version (`v24.1.0`) of the Node binary at `path`, or an error naming it. */
export function nodeVersion (path: string): string {
  const result = spawnSync(path, ['--version'], { encoding: 'utf8' })
  const version = result.status === 0 ? result.stdout.trim() : ''
  if (!/^v\d+\.\d+\.\d+/.test(version)) throw new Error(`--node ${path}: not a Node binary (${result.error?.message ?? (result.stderr.trim() || `exit ${String(result.status)}`)})`)
  return version
}

export async function startServer (target: TargetName, keys: BenchKeys, pinning: Pinning, options: ServerStartOptions): Promise<ServerHandle> {
  // --expose-gc: the memory scenario reads the heap after a full collection. BENCH_SERVER_FLAGS
  // adds V8 flags to the servers alone (say --trace-deopt), leaving the generator untouched.
  const extraFlags = (process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter((flag) => flag !== '')
  const flags = ['--expose-gc', ...extraFlags]
  // One directory per target: tsx's loader thread writes a profile of its own beside the main thread's.
  if (options.profileDir !== undefined) flags.push('--cpu-prof', '--cpu-prof-dir', join(options.profileDir, target))
  const child = spawnNode(SERVER_CPU, pinning, '../server/main.ts', flags, { BENCH_SERVER: JSON.stringify({ target, keys, buildDir: options.buildDir, redisUrl: options.redisUrl } satisfies ServerInit) }, options.nodePath)
  const ready = await new Promise<ServerReady>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`server ${target} did not start within 60 s`)) }, 60_000)
    child.once('message', (message: ServerReady) => {
      clearTimeout(timer)
      resolve(message)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server ${target} exited with ${String(code)} before listening`))
    })
  })
  return {
    target,
    pid: child.pid as number,
    port: ready.port,
    controlPort: ready.controlPort,
    stop: () => stopChild(child, 5000)
  }
}

export interface GeneratorHandle {
  pid: number
  run<T> (job: Job, timeoutMs: number): Promise<T>
  stop (): Promise<void>
}

export async function startGenerator (keys: BenchKeys, pinning: Pinning): Promise<GeneratorHandle> {
  const child = spawnNode(GENERATOR_CPU, pinning, '../generator/main.ts', [], { BENCH_KEYS: JSON.stringify(keys) })
  const pending = new Map<number, { resolve: (value: unknown) => void, reject: (error: Error) => void }>()
  let nextId = 1
  child.on('message', (response: JobResponse) => {
    const waiter = pending.get(response.id)
    if (waiter === undefined) return
    pending.delete(response.id)
    if (response.error !== undefined) waiter.reject(new Error(`generator: ${response.error}`))
    else waiter.resolve(response.result)
  })
  child.once('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`generator exited with ${String(code)}`))
    pending.clear()
  })
  return {
    pid: child.pid as number,
    run<T> (job: Job, timeoutMs: number): Promise<T> {
      const id = nextId++
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`generator job ${job.kind} timed out after ${timeoutMs} ms`))
        }, timeoutMs)
        pending.set(id, {
          resolve: (value) => { clearTimeout(timer); resolve(value as T) },
          reject: (error) => { clearTimeout(timer); reject(error) }
        })
        child.send({ id, job } satisfies JobRequest)
      })
    },
    stop: () => stopChild(child, 3000)
  }
}
