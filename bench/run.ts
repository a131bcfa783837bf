import { loadavg } from 'node:os'
import { join } from 'node:path'
import { BENCH_DIR, parseOptions, roundsFor } from './config.ts'
import { buildForServers, buildRevisionForServers, removeBuild } from './orchestrator/build.ts'
import { machineInfo } from './orchestrator/machine.ts'
import { detectPinning, killChildren, nodeVersion, pinSelf, startGenerator } from './orchestrator/processes.ts'
import { Progress, fmt } from './orchestrator/progress.ts'
import { Servers } from './orchestrator/servers.ts'
import { markdownReport, resultsTable } from './report/markdown.ts'
import { updateReadme } from './report/readme.ts'
import { ratesChart } from './report/svg.ts'
import { evaluateTargets } from './report/targets.ts'
import type { RunResults, ScenarioResult } from './report/types.ts'
import { writeAtomically } from './report/write.ts'
import { SCENARIOS } from './scenarios/index.ts'
import type { ScenarioContext } from './scenarios/scenario.ts'
import { generateKeys } from './shared/keys.ts'

// The orchestrator: starts the pinned load generator and the pinned servers, runs the
// scenarios in order, prints progress, writes bench/results/latest.{json,md,svg}.
const options = parseOptions(process.argv.slice(2))
const { mode } = options
const progress = new Progress()
const pinning = detectPinning()
pinSelf(pinning)
const serverNode = { path: options.nodePath ?? process.execPath, version: options.nodePath === undefined ? process.version : nodeVersion(options.nodePath) }
const machine = machineInfo(pinning, serverNode)
// One result per Node line: a run with --node writes latest-node<major>.* beside the default line's latest.*.
const resultName = options.nodePath === undefined ? 'latest' : `latest-node${serverNode.version.slice(1).split('.')[0] ?? ''}`
const startedAt = new Date().toISOString()
const scenarios: ScenarioResult[] = []
const notes = [...options.notes]
if (!pinning.available) notes.push(pinning.detail)

process.stdout.write(`fastify-ws-auth benchmark, ${mode.name} mode: ${machine.cpuModel} × ${machine.cores}, node ${machine.node}${serverNode.version === machine.node ? '' : `, servers on node ${serverNode.version} (${serverNode.path})`}; ${pinning.detail}\n`)

const keys = generateKeys()
const generator = await startGenerator(keys, pinning)
const buildDir = buildForServers()
const baseBuildDir = options.against === undefined ? undefined : buildRevisionForServers(options.against)
if (options.against !== undefined) notes.push(`plugin-hs256-base is the plugin as of ${options.against} (--against), run beside the working tree's plugin-hs256.`)
const servers = new Servers(keys, pinning, generator, buildDir, options.profileDir, baseBuildDir, options.nodePath)
const context: ScenarioContext = { options, mode, servers, generator, progress }

let complete = true
let finished = false
// A run that hangs is cut: what was measured is still written, marked incomplete.
const deadline = setTimeout(() => {
  if (finished) return
  process.stderr.write(`\nbench: ${mode.name} run exceeded ${mode.deadlineMs / 1000} s; writing what was measured\n`)
  complete = false
  notes.push(`The run was cut after ${mode.deadlineMs / 1000} s.`)
  finish().finally(() => { process.exit(1) })
}, mode.deadlineMs)
deadline.unref()

const selected = SCENARIOS.filter((s) => options.only === undefined || options.only.includes(s.id))
for (const scenario of selected) {
  const started = progress.elapsedS
  if (scenario.todo !== undefined || scenario.run === undefined) {
    progress.scenario(scenario.id, `${scenario.title} — not run`)
    progress.line(scenario.todo ?? 'no runner')
    scenarios.push({ id: scenario.id, title: scenario.title, unit: scenario.unit, description: scenario.description, status: 'todo', error: scenario.todo, variants: [], comparisons: [], metrics: {}, notes: [], rounds: 0, elapsedS: 0 })
    continue
  }
  progress.scenario(scenario.id, scenario.title)
  try {
    // Each scenario reads its round count from the mode it is given (config.ts, scenarioRounds).
    scenarios.push(...await scenario.run({ ...context, mode: { ...mode, rounds: roundsFor(mode, scenario.id) } }))
  } catch (err) {
    complete = false
    const message = (err as Error).message
    progress.line(`FAILED: ${message}`)
    scenarios.push({ id: scenario.id, title: scenario.title, unit: scenario.unit, description: scenario.description, status: 'failed', error: message, variants: [], comparisons: [], metrics: {}, notes: [], rounds: 0, elapsedS: Math.round(progress.elapsedS - started) })
  }
}
await finish()
process.exit(complete ? 0 : 1)

async function finish (): Promise<void> {
  if (finished) return
  finished = true
  await Promise.race([
    Promise.all([servers.stopAll(), generator.stop()]),
    new Promise((resolve) => setTimeout(resolve, 10_000))
  ])
  killChildren()
  removeBuild(buildDir)
  if (baseBuildDir !== undefined) removeBuild(baseBuildDir)
  machine.loadAverageAtEnd = loadavg().map((v) => Math.round(v * 100) / 100)
  const otherLoad = scenarios.map((s) => s.otherLoadCores).filter((v): v is number => v !== undefined)
  if (otherLoad.length > 0 && Math.max(...otherLoad) > 0.1) {
    notes.push(`Other processes used up to ${Math.max(...otherLoad).toFixed(2)} cores during measured windows (see each scenario): this machine is shared; ratios within a round are the robust figures.`)
  }
  const results: RunResults = {
    schema: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    mode: mode.name,
    complete,
    machine,
    method: {
      rounds: mode.rounds,
      scenarioRounds: mode.scenarioRounds ?? {},
      interval: 'bootstrap 95 % percentile interval of the median over rounds (report/bootstrap.ts), seeded by target name',
      warmupMs: mode.warmupMs,
      visitMs: mode.visitMs,
      order: 'A B … B A per round, ratios within a round, medians over rounds',
      pinning: pinning.detail,
      handshakeClient: 'raw TCP client (prebuilt upgrade requests, zero-mask frames); the server closes first',
      sizes: { echo: mode.echo, broadcast: mode.broadcast, renewal: mode.renewal, storm: mode.storm, memory: mode.memory, expiry: mode.expiry, expiryBurst: mode.expiryBurst, held: mode.held, revocation: mode.revocation, http: mode.http, cluster: mode.cluster }
    },
    notes,
    checks: servers.checks,
    scenarios,
    targets: evaluateTargets(scenarios)
  }
  writeAtomically(options.outDir, `${resultName}.json`, `${JSON.stringify(results, null, 2)}\n`)
  writeAtomically(options.outDir, `${resultName}.md`, markdownReport(results, `${resultName}.svg`))
  writeAtomically(options.outDir, `${resultName}.svg`, ratesChart(results))
  if (options.updateReadme) updateReadme(join(BENCH_DIR, 'README.md'), resultsTable(results))

  process.stdout.write(`\n── targets ${'─'.repeat(80)}\n`)
  for (const t of results.targets) {
    const digits = t.value !== null && Math.abs(t.value) < 10 ? 3 : 0
    const interval = t.interval === null ? '' : ` [${fmt(t.interval.low, digits)}, ${fmt(t.interval.high, digits)}]`
    process.stdout.write(`  ${t.met ? 'met   ' : 'MISSED'}  ${t.name.padEnd(36)} ${fmt(t.value, digits).padStart(8)}${interval.padEnd(18)}  (${t.target})${t.note === undefined ? '' : `  ${t.note}`}\n`)
  }
  process.stdout.write(`\nwrote ${join(options.outDir, `${resultName}.json`)}, ${resultName}.md, ${resultName}.svg in ${progress.elapsedS.toFixed(0)} s\n`)
}
