import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/**
 * Inside the repository, so that the compiled files resolve node_modules as the sources do
 * (ignored by git and eslint); one directory per run, so that two runs (a benchmark and the
 * smoke test, say) never rebuild under each other's servers.
 */
const BUILD_ROOT = fileURLToPath(new URL('../results/.build/', import.meta.url))
const SOURCES = ['protocol', 'plugin', 'redis', 'example-app']

/**
 * Compiles the plugin, the protocol, the Redis stores and the example app to plain JavaScript for the server
 * processes, as `tsc` emits them for the package. Running them through tsx instead would
 * measure tsx: its esbuild transform keeps function names by wrapping every named closure
 * in a `__name()` call, which cost the plugin about 10 µs per handshake in profiles.
 * Transpile only (no type check: `npm run typecheck` does that), a second or so.
 */
export function buildForServers (): string {
  return transpile(join(BUILD_ROOT, String(process.pid)), (dir) => readdirSync(join(ROOT, dir)), (path) => readFileSync(join(ROOT, path), 'utf8'))
}

/**
 * The same build of the sources as they were at a git revision (`--against`), read with
 * `git show`, so that a change can be measured against what came before it in one run.
 */
export function buildRevisionForServers (revision: string): string {
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
  const commit = git('rev-parse', '--verify', `${revision}^{commit}`).trim()
  return transpile(join(BUILD_ROOT, `${process.pid}-base`),
    (dir) => git('ls-tree', '--name-only', `${commit}:${dir}`).split('\n').filter((name) => name !== ''),
    (path) => git('show', `${commit}:${path}`))
}

function transpile (buildDir: string, list: (dir: string) => string[], read: (path: string) => string): string {
  rmSync(buildDir, { recursive: true, force: true })
  const compilerOptions: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    verbatimModuleSyntax: true,
    rewriteRelativeImportExtensions: true,
    sourceMap: false
  }
  for (const dir of SOURCES) {
    mkdirSync(join(buildDir, dir), { recursive: true })
    for (const file of list(dir).filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))) {
      const source = read(`${dir}/${file}`)
      const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: file })
      writeFileSync(join(buildDir, dir, file.replace(/\.ts$/, '.js')), outputText)
    }
  }
  return buildDir
}

export function removeBuild (buildDir: string): void {
  rmSync(buildDir, { recursive: true, force: true })
}
