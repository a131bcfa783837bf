// The client must bundle for a browser page as is: no Node builtins, no Buffer, no process.
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import t from 'tap'

t.test('client/ bundles for the browser without Node builtins', async (t) => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../../client/index.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    metafile: true
  })
  t.same(result.errors, [])
  t.same(result.warnings, [])
  const inputs = Object.keys(result.metafile.inputs)
  t.ok(inputs.some((path) => path.endsWith('client/client.ts')))
  t.same(inputs.filter((path) => path.startsWith('node:') || /(^|\/)node_modules\/(ws|@types\/node)\//.test(path)), [], 'no Node module in the bundle')
  const code = (result.outputFiles[0] as { text: string }).text
  t.notMatch(code, /\bBuffer\.|\bprocess\.|require\(/, 'no Node globals')
})
