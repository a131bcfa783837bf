// The client must bundle for a browser page as is (no Node builtins, no Buffer, no
// process), and small: at most 6 KiB minified and gzipped, with no TypeBox in it.
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { build, type BuildOptions } from 'esbuild'
import t from 'tap'

/** The budget of `esbuild --bundle --minify --format=esm --platform=browser client/index.ts`, gzipped (zlib's default level). */
const BUDGET_BYTES = 6144

const entry = fileURLToPath(new URL('../../client/index.ts', import.meta.url))

async function bundle (options: BuildOptions) {
  const result = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent', metafile: true, ...options })
  return { result, code: (result.outputFiles?.[0] as { text: string }).text, inputs: Object.keys(result.metafile?.inputs ?? {}) }
}

t.test('client/ bundles for the browser without Node builtins', async (t) => {
  const { result, code, inputs } = await bundle({ target: 'es2022' })
  t.same(result.errors, [])
  t.same(result.warnings, [])
  t.ok(inputs.some((path) => path.endsWith('client/client.ts')))
  t.same(inputs.filter((path) => path.startsWith('node:') || /(^|\/)node_modules\/(ws|@types\/node)\//.test(path)), [], 'no Node module in the bundle')
  t.notMatch(code, /\bBuffer\.|\bprocess\.|require\(/, 'no Node globals')
})

t.test(`the minified browser bundle is at most ${BUDGET_BYTES} bytes gzipped`, async (t) => {
  const { code, inputs } = await bundle({ minify: true })
  t.same(inputs.filter((path) => /node_modules/.test(path)), [], 'no dependency in the bundle: no TypeBox, no schema compiler')
  t.same(inputs.filter((path) => /protocol\/(frames|error-codes)\.ts$/.test(path)), [], 'neither the schemas nor the error messages')
  const minified = Buffer.byteLength(code)
  const gzipped = gzipSync(code).length
  t.comment(`client bundle: ${minified} B minified, ${gzipped} B gzipped (budget ${BUDGET_BYTES} B)`)
  t.ok(gzipped <= BUDGET_BYTES, `${gzipped} B gzipped, budget ${BUDGET_BYTES} B (${minified} B minified)`)
})
