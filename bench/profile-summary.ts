import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

// Summarises V8 CPU profiles written by `npm run bench -- --profile DIR` (one directory per
// target): where each server's CPU went, by area (the plugin, Fastify, ws, fast-jwt, Node
// internals, GC) and by function. Of each target's files, the largest is its main thread's
// (tsx's loader thread writes a small one too).
// `--from S` leaves out the first S seconds of each profile: a server's start-up (module loading,
// on Node 22+ tsx's in-thread loader hooks) would otherwise blur what its requests cost.
// `--to S` leaves out what came after S seconds, so that one stretch (an expiry burst) can be
// read alone.
// Usage: node --import tsx bench/profile-summary.ts DIR [top] [--from S] [--to S]

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

const AREAS: Array<[string, RegExp]> = [
  ['fastify-ws-auth plugin/', /\/plugin\//],
  ['fastify-ws-auth protocol/', /\/protocol\//],
  ['bench harness', /\/bench\//],
  ['fast-jwt', /node_modules\/fast-jwt\//],
  ['@fastify/jwt', /node_modules\/@fastify\/jwt\//],
  ['@fastify/rate-limit', /node_modules\/@fastify\/rate-limit\/|node_modules\/toad-cache\//],
  ['@fastify/websocket', /node_modules\/@fastify\/websocket\//],
  ['ws', /node_modules\/ws\//],
  ['fastify', /node_modules\/(fastify|find-my-way|light-my-request|avvio|@fastify\/[a-z-]+)\//],
  ['socket.io / engine.io', /node_modules\/(socket\.io|engine\.io|socket\.io-parser|socket\.io-adapter)/],
  ['other node_modules', /node_modules\//],
  ['node internals', /^node:|^internal\//]
]

function area (node: ProfileNode): string {
  const { url, functionName } = node.callFrame
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC'
    if (functionName === '(idle)') return 'idle'
    if (functionName === '(program)') return 'V8 / native (program)'
    return `native: ${functionName || '(anonymous)'}`
  }
  for (const [name, pattern] of AREAS) if (pattern.test(url)) return name
  return 'other'
}

function summarize (path: string, top: number, fromUs: number, toUs: number): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfUs = new Map<number, number>()
  let elapsedUs = 0
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0
    elapsedUs += delta
    if (elapsedUs >= fromUs && elapsedUs < toUs) selfUs.set(id, (selfUs.get(id) ?? 0) + delta)
  })
  const areas = new Map<string, number>()
  const functions = new Map<string, number>()
  let busy = 0
  for (const [id, us] of selfUs) {
    const node = byId.get(id)
    if (node === undefined) continue
    const name = area(node)
    if (name === 'idle') continue
    busy += us
    areas.set(name, (areas.get(name) ?? 0) + us)
    const where = node.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(plugin|protocol|bench)\//, '$1/')
    const key = `${node.callFrame.functionName || '(anonymous)'}  ${where}:${node.callFrame.lineNumber + 1}`
    functions.set(key, (functions.get(key) ?? 0) + us)
  }
  const pct = (us: number): string => `${(us / busy * 100).toFixed(1).padStart(5)} %`
  const lines = [`${path}: ${(busy / 1e6).toFixed(2)} s busy (idle excluded${fromUs > 0 ? `, from ${fromUs / 1e6} s on` : ''}${Number.isFinite(toUs) ? `, until ${toUs / 1e6} s` : ''})`, '  by area:']
  for (const [name, us] of [...areas].sort((a, b) => b[1] - a[1])) lines.push(`    ${pct(us)}  ${name}`)
  lines.push(`  top ${top} functions (self time):`)
  for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`    ${pct(us)}  ${name}`)
  return lines.join('\n')
}

const args = process.argv.slice(2)
const from = args.indexOf('--from')
const fromUs = from === -1 ? 0 : Number(args.splice(from, 2)[1]) * 1e6
const to = args.indexOf('--to')
const toUs = to === -1 ? Number.POSITIVE_INFINITY : Number(args.splice(to, 2)[1]) * 1e6
const dir = args[0]
if (dir === undefined || !Number.isFinite(fromUs) || Number.isNaN(toUs) || toUs <= fromUs) {
  process.stderr.write('usage: node --import tsx bench/profile-summary.ts DIR [top] [--from S] [--to S]\n')
  process.exit(2)
}
const top = Number(args[1] ?? 25)
for (const target of readdirSync(dir).sort()) {
  const targetDir = join(dir, target)
  if (!statSync(targetDir).isDirectory()) continue
  const files = readdirSync(targetDir).filter((name) => name.endsWith('.cpuprofile')).map((name) => join(targetDir, name))
  const main = files.sort((a, b) => statSync(b).size - statSync(a).size)[0]
  if (main !== undefined) process.stdout.write(`${summarize(main, top, fromUs, toUs)}\n\n`)
}
