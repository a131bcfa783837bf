import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem, type } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { MachineInfo } from '../report/types.ts'
import type { Pinning } from './processes.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const PACKAGES = ['fastify', '@fastify/websocket', 'ws', '@fastify/jwt', 'fast-jwt', 'socket.io', 'socket.io-client', 'autocannon', 'hdr-histogram-js', 'tsx']

function version (name: string): string {
  try {
    return (JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, 'utf8')) as { version: string }).version
  } catch {
    return 'not installed'
  }
}

function run (command: string, args: string[]): string {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8' })
  return result.status === 0 ? result.stdout.trim() : 'unknown'
}

/** What the figures were measured on: they mean little without it. */
export function machineInfo (pinning: Pinning, serverNode: MachineInfo['serverNode']): MachineInfo {
  const own = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }
  const commit = run('git', ['rev-parse', '--short', 'HEAD'])
  const dirty = run('git', ['status', '--porcelain', '--', 'plugin', 'protocol']) !== ''
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
    os: `${type()} ${release()}`,
    node: process.version,
    serverNode,
    versions: Object.fromEntries([['fastify-ws-auth', own.version], ...PACKAGES.map((name) => [name, version(name)])]),
    commit: dirty ? `${commit} (plugin/ or protocol/ modified)` : commit,
    pinning: pinning.detail,
    ulimitNofile: run('sh', ['-c', 'ulimit -n']),
    loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
    loadAverageAtEnd: []
  }
}
