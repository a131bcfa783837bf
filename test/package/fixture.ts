// The package as npm delivers it: `npm pack` of the working tree, installed into a fresh
// app beside the Fastify version under test. Nothing here imports the source tree.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)

export interface Output { stdout: string, stderr: string }

/** Runs `command` in `cwd`; a non-zero exit rejects with its output in the message. */
export async function exec (command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Output> {
  try {
    return await run(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 })
  } catch (error) {
    const { stdout = '', stderr = '' } = error as Partial<Output>
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`)
  }
}

/** npm as the running Node sees it (the npm beside `process.execPath`, else the PATH's). */
export async function npm (args: string[], cwd: string): Promise<Output> {
  return await exec('npm', args, cwd, { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' })
}

export interface Packed {
  readonly dir: string
  readonly tarball: string
  cleanup (): Promise<void>
}

/** `npm pack` of the working tree (its `prepack` builds `dist/`) into a temporary directory. */
export async function pack (): Promise<Packed> {
  const dir = await mkdtemp(join(tmpdir(), 'fastify-ws-auth-pack-'))
  const { stdout } = await npm(['pack', '--json', '--pack-destination', dir], ROOT)
  // npm prints the lifecycle scripts' output before its JSON on stdout.
  const [{ filename }] = JSON.parse(stdout.slice(stdout.indexOf('\n[') + 1)) as [{ filename: string }]
  return { dir, tarball: join(dir, filename as string), cleanup: async () => { await rm(dir, { recursive: true, force: true }) } }
}

/** The version of a dev dependency of this repository, as its lockfile installed it. */
export async function installedVersion (name: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
  return manifest.version
}

export interface FixtureApp {
  readonly dir: string
  write (file: string, text: string): Promise<string>
  /** Runs the repository's tsc in the app (types resolve from the app's node_modules only). */
  tsc (project: string): Promise<Output>
}

/**
 * A new app in `parent` that depends on the packed tarball and `dependencies`, installed
 * by npm from its cache where it can (the registry only for what the cache lacks).
 */
export async function createApp (parent: string, name: string, tarball: string, dependencies: Record<string, string>): Promise<FixtureApp> {
  const dir = join(parent, name)
  await mkdir(dir, { recursive: true })
  const manifest = { name, private: true, type: 'module', dependencies: { 'fastify-ws-auth': `file:${tarball}`, ...dependencies } }
  await writeFile(join(dir, 'package.json'), JSON.stringify(manifest, null, 2))
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], dir)
  const tscPath = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  return {
    dir,
    async write (file, text) {
      const path = join(dir, file)
      await mkdir(join(path, '..'), { recursive: true })
      await writeFile(path, text)
      return path
    },
    async tsc (project) {
      return await exec(process.execPath, [tscPath, '-p', project], dir)
    }
  }
}

/** A strict tsconfig as a new app writes it, with `skipLibCheck: false` so our `.d.ts` are checked too; `check` false emits without checking (`noCheck`). */
export function tsconfig (resolution: 'node16' | 'bundler', files: string[], emit?: string, check = true): string {
  return JSON.stringify({
    compilerOptions: {
      strict: true,
      target: 'ES2022',
      module: resolution === 'node16' ? 'node16' : 'esnext',
      moduleResolution: resolution,
      types: ['node'],
      skipLibCheck: false,
      ...(check ? {} : { noCheck: true }),
      ...(emit === undefined ? { noEmit: true } : { outDir: emit, rootDir: '.' })
    },
    files
  }, null, 2)
}
