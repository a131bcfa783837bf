import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { CLIENT_CASES } from '../../conformance/cases/index.ts'
import { KitServer } from '../../conformance/server/kit-server.ts'

const DIRECTORY = fileURLToPath(new URL('../../conformance/clients/python/', import.meta.url))

/**
 * Debian's python3-websockets lives under /usr/bin/python3, which a pyenv python3 on PATH
 * may hide. WSAUTH_PYTHON names another interpreter.
 */
function findPython (): string | undefined {
  const candidates = process.env.WSAUTH_PYTHON === undefined ? ['/usr/bin/python3', 'python3'] : [process.env.WSAUTH_PYTHON]
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['-c', 'import websockets'], { stdio: 'ignore' })
    if (probe.status === 0) return candidate
  }
  return undefined
}

const python = findPython()
const missing = 'no python3 with the websockets package (Debian: apt-get install python3-websockets)'

if (python === undefined && process.env.CI === 'true') {
  t.fail(`${missing}: under CI=true the Python client must run`)
} else if (python === undefined) {
  t.test('the Python client passes client grading', { skip: `not graded: ${missing}` }, async () => {})
} else {
  t.test('the Python client passes its unit tests against the vectors', async (t) => {
    const run = spawnSync(python, ['-m', 'unittest', 'test_vectors'], { cwd: DIRECTORY, encoding: 'utf8' })
    t.equal(run.status, 0, run.stderr)
  })

  t.test('the Python client passes client grading, the retry-after case included', async (t) => {
    const kit = new KitServer({ cases: CLIENT_CASES })
    t.after(() => kit.close())
    const url = await kit.listen()
    const child = spawn(python, ['conformance_driver.py', url], { cwd: DIRECTORY, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const code = await new Promise<number | null>((resolve) => { child.on('exit', resolve) })
    t.equal(code, 0, `the driver exits cleanly ${stderr}`)
    const statuses = JSON.parse(stdout) as Record<string, string>
    t.same(Object.keys(statuses).sort(), CLIENT_CASES.map((c) => c.id).sort(), 'it runs every case')
    const results = kit.results()
    for (const result of results.filter((r) => r.status !== 'pass')) t.comment(result.id, result.status, result.reasons.join('; '))
    t.same(results.filter((r) => r.status !== 'pass').map((r) => r.id), [], 'every case passes')
  })
}
