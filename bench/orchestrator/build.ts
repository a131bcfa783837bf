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
  const buildDir = join(BUILD_ROOT, String(process.pid))
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
    for (const file of readdirSync(join(ROOT, dir)).filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))) {
      const source = readFileSync(join(ROOT, dir, file), 'utf8')
      const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: file })
      writeFileSync(join(buildDir, dir, file.replace(/\.ts$/, '.js')), outputText)
    }
  }
  return buildDir
}

export function removeBuild (buildDir: string): void {
  rmSync(buildDir, { recursive: true, force: true })
}
