// The package as a user installs it: `npm pack`, the tarball installed into fresh strict
// TypeScript apps with the lowest and the highest Fastify 5 this package claims, the
// READMEs' code compiled as written, the Usage server run and reached by the packed client.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { freePort } from '../helpers.ts'
import { createApp, exec, installedVersion, npm, pack, ROOT, tsconfig, type FixtureApp } from './fixture.ts'
import { moduleOf, typeScriptBlocks, type CodeBlock } from './readme-blocks.ts'

/** The lowest Fastify the Compatibility table claims; the highest is the one the lockfile installs. */
const LOWEST_FASTIFY = '5.0.0'

/** Nothing a user's production install should carry: build, test and bench tools of this repository. */
const DEV_ONLY = ['tsx', 'esbuild', 'typescript', 'tap', 'eslint', 'neostandard', 'fast-check', 'autocannon', 'tstyche',
  'socket.io', 'socket.io-client', 'playwright-core', 'oidc-provider', 'hdr-histogram-js', 'prom-client',
  '@sinonjs/fake-timers', '@fastify/static', 'signal-exit']

const SECRET = 'consumer-test-secret-of-at-least-32-bytes'

/** Uses of the shipped types that must hold, and misuses that must not compile (so the types are not `any`). */
const TYPE_CHECKS = `
import Fastify from 'fastify'
import fastifyWsAuth, { type AuthenticatedConnection } from 'fastify-ws-auth'
import type { WebSocket } from 'ws'

const app = Fastify()
await app.register(fastifyWsAuth, { verify: { algorithms: ['HS256'], key: 'k'.repeat(32), audience: 'feed' } })

app.get('/feed', { websocket: true, wsAuth: true }, (socket, request) => {
  const ws: WebSocket = socket
  const subject: string = request.wsAuth.subject
  const connection: AuthenticatedConnection = request.wsAuth
  // @ts-expect-error the socket is ws's WebSocket, not any
  socket.notAMethod()
  // @ts-expect-error the subject is a string
  const wrong: number = request.wsAuth.subject
  void [ws, subject, connection, wrong]
})

app.get('/feed-frame', { websocket: true, wsAuth: { authFrame: true } }, (socket, request) => {
  const subject: string = request.wsAuth.subject
  void [socket, subject]
})

app.get('/plain', async (request) => {
  // @ts-expect-error outside an authenticated route there may be no connection
  const subject: string = request.wsAuth.subject
  return request.wsAuth?.subject ?? subject
})

// @ts-expect-error a misspelt option is refused by the types too
await app.register(fastifyWsAuth, { verify: { algorithms: ['HS256'], key: 'k'.repeat(32), audiance: 'feed' } })
`

/** The packed client in Node: authenticated, then a renewal on the same socket (4 s tokens: renew_required comes at their midpoint). */
const CLIENT = `
import { createHmac } from 'node:crypto'
import { WebSocket } from 'ws'
import { WsAuthClient } from 'fastify-ws-auth/client'

const secret = process.env.JWT_SECRET as string
function token (): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const input = encode({ alg: 'HS256', typ: 'JWT' }) + '.' +
    encode({ sub: 'alice', sid: 'session-1', iss: 'https://auth.example.com', aud: 'feed', iat: now, exp: now + 4 })
  return input + '.' + createHmac('sha256', secret).update(input).digest('base64url')
}

const report = (event: string, detail?: unknown): void => { console.log(JSON.stringify({ event, detail })) }
const client = new WsAuthClient({ url: process.env.FEED_URL as string, getToken: async () => token(), WebSocket })
client.on('authenticated', (frame) => { report('authenticated', frame.subject) })
client.on('message', (data) => { report('message', String(data)) })
client.on('renewed', () => { report('renewed'); client.close() })
client.on('close', ({ code }) => { report('close', code); process.exit(0) })
client.connect()
`

async function readmeBlocks (): Promise<CodeBlock[]> {
  const blocks: CodeBlock[] = []
  for (const file of ['README.md', 'client/README.md']) {
    blocks.push(...typeScriptBlocks(await readFile(join(ROOT, file), 'utf8'), file))
  }
  return blocks
}

const fileOf = (block: CodeBlock): string => `readme/${block.origin.replace(/[/:.]/g, '_')}.ts`

/** Every physical copy of `name` in the app's node_modules tree. */
async function copiesOf (dir: string, name: string): Promise<string[]> {
  const found: string[] = []
  async function walk (modules: string): Promise<void> {
    let entries: string[]
    try { entries = await readdir(modules) } catch { return }
    for (const entry of entries) {
      const scoped = entry.startsWith('@') ? (await readdir(join(modules, entry))).map((inner) => `${entry}/${inner}`) : [entry]
      for (const pkg of scoped) {
        if (pkg === name) found.push(join(modules, pkg))
        await walk(join(modules, pkg, 'node_modules'))
      }
    }
  }
  await walk(join(dir, 'node_modules'))
  return found
}

interface LsNode { version?: string, dependencies?: Record<string, LsNode> }

function namesIn (tree: LsNode, into = new Set<string>()): Set<string> {
  for (const [name, child] of Object.entries(tree.dependencies ?? {})) {
    into.add(name)
    namesIn(child, into)
  }
  return into
}

// Packing, two installs and four compilations take about a minute on 2 quiet cores; the
// timeout leaves room for a loaded machine.
t.setTimeout(480_000)

t.test('the packed tarball in fresh apps', async (t) => {
  const packed = await pack()
  t.teardown(packed.cleanup)
  const { stdout: listing } = await exec('tar', ['-tzf', packed.tarball], packed.dir)
  const shipped = listing.split('\n').filter(Boolean).map((path) => path.replace(/^package\//, ''))
  const shippedVectors = shipped.filter((path) => /^dist\/conformance\/vectors\/.+\.json$/.test(path))

  t.test('the tarball carries what its README links and nothing of the repository tooling', async (t) => {
    for (const file of ['LICENSE', 'README.md', 'SPEC.md', 'client/README.md', 'docs/example-page.png', 'conformance/README.md',
      'dist/conformance/cli.js', 'conformance/clients/python/wsauth_client.py',
      'dist/plugin/index.js', 'dist/plugin/index.d.ts', 'dist/client/index.js', 'dist/protocol/index.js', 'dist/redis/index.js']) {
      t.ok(shipped.includes(file), `ships ${file}`)
    }
    t.same(shipped.filter((path) => /^(test|bench|example-app|\.ci)\//.test(path) || (path.endsWith('.ts') && !path.endsWith('.d.ts'))), [],
      'no tests, benchmarks, example app or TypeScript sources')
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    const relative = [...readme.matchAll(/\]\((?!https?:|#)([^)#\s]+)/g)].map((match) => match[1] as string)
    t.ok(relative.length > 0, 'the README has relative links')
    t.same(relative.filter((link) => !shipped.includes(link)), [], 'every relative link of the README is in the tarball')
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>
    for (const field of ['license', 'repository', 'homepage', 'bugs', 'keywords']) t.ok(manifest[field], `package.json has ${field}`)
  })

  const highest = await installedVersion('fastify')
  const parent = packed.dir
  const blocks = await readmeBlocks()
  t.ok(blocks.length >= 6, `found ${blocks.length} TypeScript blocks in the READMEs`)
  const typesNode = await installedVersion('@types/node')

  // .ci/run sets FASTIFY_WS_AUTH_CI_LINE=secondary on the lines after Node 24's whole-suite
  // run: the lowest Fastify and the type checks (what tsc reports does not depend on the
  // Node that runs it) were proven there, and the install, the node16 build, the run and the
  // tree checks are repeated on each line.
  const secondary = process.env.FASTIFY_WS_AUTH_CI_LINE === 'secondary'
  for (const fastify of secondary ? [highest] : [LOWEST_FASTIFY, highest]) {
    t.test(`with fastify ${fastify}`, async (t) => {
      // ws and ioredis as the READMEs tell users to install them; @types/node as every TypeScript app has it.
      const app = await createApp(parent, `app-fastify-${fastify}`, packed.tarball, {
        fastify, ws: '^8.0.0', ioredis: await installedVersion('ioredis'), '@types/node': typesNode
      })
      const files: string[] = []
      for (const block of blocks) {
        await app.write(fileOf(block), moduleOf(block))
        files.push(fileOf(block))
      }
      await app.write('type-checks.ts', TYPE_CHECKS)
      await app.write('run/client.ts', CLIENT)
      files.push('type-checks.ts', 'run/client.ts')

      // Both resolutions on the highest Fastify; node16 (the one the run uses) on the lowest, to keep the test near a minute.
      for (const resolution of fastify === highest && !secondary ? ['node16', 'bundler'] as const : ['node16'] as const) {
        // On a secondary line the node16 build is only emitted (noCheck): the first line
        // type-checked the same files with the same tsc, and checking them is what takes
        // this test's half minute.
        const title = secondary
          ? 'every README block and the type checks build (emitted unchecked: the first line type-checked them)'
          : `every README block and the type checks compile, strict, ${resolution} resolution, skipLibCheck false`
        t.test(title, async (t) => {
          // The node16 build is also the one the Usage server and the client run from.
          await app.write(`tsconfig.${resolution}.json`, tsconfig(resolution, files, resolution === 'node16' ? 'out' : undefined, !secondary))
          const result = await app.tsc(`tsconfig.${resolution}.json`).then(() => '', (error: Error) => error.message)
          t.equal(result, '', 'tsc reports no error')
        })
      }

      t.test('the production tree holds no build or test tool, and one fastify and one ws', async (t) => {
        const { stdout } = await npm(['ls', '--omit=dev', '--all', '--json'], app.dir)
        const names = namesIn(JSON.parse(stdout) as LsNode)
        t.same(DEV_ONLY.filter((name) => names.has(name)), [], 'no dev-only package')
        t.equal((await copiesOf(app.dir, 'fastify')).length, 1, 'one fastify')
        t.equal((await copiesOf(app.dir, 'ws')).length, 1, 'one ws')
        t.ok(names.has('@types/ws'), '@types/ws comes with the package (its types name ws)')
      })

      await runUsage(t, app, blocks)
      if (fastify !== highest) return

      t.test('the conformance kit runs from the installed package', async (t) => {
        const cli = join(app.dir, 'node_modules', '.bin', 'fastify-ws-auth-conformance')
        const usage = await exec(cli, [], app.dir).then(() => '', (error: Error) => error.message)
        t.match(usage, /usage \(npx fastify-ws-auth-conformance/, 'without a command it prints its usage and fails')
        t.ok(shippedVectors.length >= 6, `ships ${shippedVectors.length} vector files`)
      })

      t.test('the installed package fails ready() on a wsAuth route declared before it loaded', async (t) => {
        // The watch subscribes when the package is imported: this proves the shipped module does.
        const script = "import Fastify from 'fastify'; import wsAuth from 'fastify-ws-auth'; const app = Fastify(); " +
          `void app.register(wsAuth, { verify: { algorithms: ['HS256'], key: '${SECRET}' } }); ` +
          "app.get('/feed', { websocket: true, wsAuth: true }, () => {}); " +
          'app.ready().then(() => console.log("ready"), (error) => console.log(error.code))'
        const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], app.dir)
        t.equal(stdout.trim(), 'FST_WS_AUTH_ROUTE_BEFORE_PLUGIN')
      })

      t.test('require() of the ESM package works where Node can require ES modules', async (t) => {
        const script = "const m = require('fastify-ws-auth'); const c = require('fastify-ws-auth/client'); " +
          'console.log(typeof m.default, typeof c.WsAuthClient)'
        const { stdout } = await exec(process.execPath, ['--no-warnings', '-e', script], app.dir)
        t.equal(stdout.trim(), 'function function')
      })
    })
  }
})

/** The README's Usage server, compiled from the installed package, reached by the packed client in Node. */
async function runUsage (t: Test, app: FixtureApp, blocks: CodeBlock[]): Promise<void> {
  t.test('the README Usage server runs and the packed client authenticates and renews', async (t) => {
    const usage = blocks.find((block) => block.origin.startsWith('README.md') && block.code.includes('app.listen('))
    if (usage === undefined) throw new Error('no Usage block with app.listen in README.md')
    const usageScript = `out/${fileOf(usage).replace(/\.ts$/, '.js')}`

    const port = String(await freePort())
    const server = spawn(process.execPath, [usageScript], { cwd: app.dir, env: { ...process.env, PORT: port, JWT_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'pipe'] })
    t.teardown(() => { server.kill('SIGKILL') })
    let log = ''
    server.stdout.on('data', (chunk: Buffer) => { log += chunk.toString() })
    server.stderr.on('data', (chunk: Buffer) => { log += chunk.toString() })
    const deadline = Date.now() + 15_000
    while (!log.includes('Server listening') && Date.now() < deadline && server.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50))
    t.match(log, /Server listening/, 'the server started')

    const client = spawn(process.execPath, ['out/run/client.js'], { cwd: app.dir, env: { ...process.env, JWT_SECRET: SECRET, FEED_URL: `ws://127.0.0.1:${port}/feed` }, stdio: ['ignore', 'pipe', 'inherit'] })
    const killer = setTimeout(() => { client.kill('SIGKILL') }, 20_000)
    let output = ''
    client.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    await once(client, 'exit')
    clearTimeout(killer)
    const events = output.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { event: string, detail: unknown })
    t.same(events.map(({ event }) => event).filter((event) => event !== 'message'), ['authenticated', 'renewed', 'close'], 'authenticated, renewed, then closed by the client')
    t.same(events.find(({ event }) => event === 'authenticated')?.detail, 'alice')
    const greeting = events.find(({ event }) => event === 'message')?.detail
    t.equal((JSON.parse(String(greeting)) as { hello?: unknown }).hello, 'alice', 'the handler\'s message arrived')
    t.notMatch(log, /eyJ[\w-]+\.eyJ/, 'no token in the server log')
  })
}
