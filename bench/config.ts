import { fileURLToPath } from 'node:url'

export type ModeName = 'smoke' | 'quick' | 'full'

/** Sizes and durations of one run. Every count and time is bounded; `deadlineMs` ends a run that hangs. */
export interface Mode {
  name: ModeName
  /** Rounds of a scenario not listed in `scenarioRounds`. */
  rounds: number
  /**
   * Rounds of the scenarios whose ratios are judged by a confidence interval against a narrow
   * margin (bench/README.md, "Round counts"): enough that the interval can be narrower than it.
   */
  scenarioRounds?: Readonly<Record<string, number>>
  /** One warm-up visit per variant before the first round (JIT, caches, pools). */
  warmupMs: number
  /** One visit; a round visits each variant twice (A B … B A). */
  visitMs: number
  handshakeConcurrency: number
  echo: { connections: number, window: number, payloadBytes: number, pacedFraction: number }
  broadcast: { subscribers: number, window: number, payloadBytes: number }
  renewal: { connections: number }
  storm: { connections: number, windowMs: number, rounds: number }
  memory: { connections: number, rounds: number }
  expiry: { connections: number, spreadMs: number }
  /** Whole-second deadlines: the crowd expires in a few bursts of the same millisecond. */
  expiryBurst: { connections: number, spreadMs: number }
  /**
   * Idle hold before the storm: the event-loop delay while nothing but the plugin's own
   * timers run; longer than the default 30 s heartbeat, so the window contains a beat.
   */
  held: { windowMs: number }
  /** Token-id revocations with `small` then `large` connections held, `matching` of them closing one. */
  /**
   * `revocations` back to back for the rate and each call's cost, then as many again, one
   * every `pacedIntervalMs`, for the event-loop delay: back to back they last tens of ms, a
   * window that a single GC pause would fill.
   */
  revocation: { small: number, large: number, revocations: number, matching: number, pacedIntervalMs: number }
  http: { visitMs: number, rounds: number, connections: number }
  /**
   * Plugin instances sharing one redis-server (revocation-cluster, feed-fanout-redis):
   * connections held on each instance meanwhile, sessions revoked per visit (`batch` per
   * call in the batch variants), feed subscribers per instance, publications in flight
   * (capacity) and the paced publication rate as a share of the in-process capacity (latency).
   */
  cluster: { instances: number, heldPerInstance: number, revocationsPerVisit: number, batch: number, subscribersPerInstance: number, window: number, pacedFraction: number, payloadBytes: number }
  /** Only these variants (ids) and their baselines, when given (`--variants`): a focused A/B run. */
  variants?: readonly string[]
  /** A round during which other processes used more than this many cores is repeated… */
  maxOtherLoadCores: number
  /** …at most this many times per scenario. */
  maxRepeats: number
  deadlineMs: number
}

const MODES: Record<ModeName, Mode> = {
  smoke: {
    name: 'smoke',
    rounds: 1,
    warmupMs: 0,
    visitMs: 150,
    handshakeConcurrency: 8,
    echo: { connections: 10, window: 4, payloadBytes: 64, pacedFraction: 0.4 },
    broadcast: { subscribers: 10, window: 2, payloadBytes: 64 },
    renewal: { connections: 10 },
    storm: { connections: 50, windowMs: 500, rounds: 1 },
    memory: { connections: 50, rounds: 1 },
    expiry: { connections: 50, spreadMs: 300 },
    expiryBurst: { connections: 50, spreadMs: 1000 },
    held: { windowMs: 300 },
    revocation: { small: 20, large: 60, revocations: 20, matching: 4, pacedIntervalMs: 1 },
    http: { visitMs: 300, rounds: 1, connections: 4 },
    cluster: { instances: 2, heldPerInstance: 10, revocationsPerVisit: 6, batch: 3, subscribersPerInstance: 5, window: 2, pacedFraction: 0.4, payloadBytes: 64 },
    maxOtherLoadCores: 0.25,
    maxRepeats: 0,
    // Every scenario with tiny sizes, on a shared two-core machine: 90–130 s under load.
    deadlineMs: 180_000
  },
  quick: {
    name: 'quick',
    rounds: 3,
    // Long enough for the plugin's per-address rate-limit entries to cover the 4,064 client
    // addresses: until then each handshake inserts one, and the rounds would see a trend.
    warmupMs: 1200,
    // 550 ms visits keep the whole quick run under five minutes with the Redis and JWKS scenarios.
    visitMs: 550,
    handshakeConcurrency: 50,
    echo: { connections: 100, window: 16, payloadBytes: 64, pacedFraction: 0.4 },
    broadcast: { subscribers: 500, window: 8, payloadBytes: 64 },
    renewal: { connections: 100 },
    storm: { connections: 19_000, windowMs: 10_000, rounds: 1 },
    memory: { connections: 5000, rounds: 1 },
    expiry: { connections: 10_000, spreadMs: 3000 },
    expiryBurst: { connections: 10_000, spreadMs: 3000 },
    held: { windowMs: 32_000 },
    revocation: { small: 1000, large: 19_000, revocations: 1000, matching: 100, pacedIntervalMs: 3 },
    http: { visitMs: 1500, rounds: 1, connections: 10 },
    cluster: { instances: 3, heldPerInstance: 100, revocationsPerVisit: 60, batch: 10, subscribersPerInstance: 100, window: 8, pacedFraction: 0.4, payloadBytes: 64 },
    maxOtherLoadCores: 0.25,
    maxRepeats: 2,
    deadlineMs: 420_000
  },
  full: {
    name: 'full',
    rounds: 5,
    // From the per-round spread of the 2026-12-01 full run (standard deviation of a round's
    // ratio about 0.045): 15 rounds put the half-width of the 95 % interval of the median near
    // 0.028, under the 0.03 margin of the 0.97 targets; echo's margin is 0.05, 9 rounds give about 0.04.
    // The expiry burst's per-round ratio moved 1.10–2.02 over six quick runs on fresh servers
    // (Node 26, 2026-12-04); against its 0.5 margin 7 rounds (about 25 s each) will do.
    scenarioRounds: { handshake: 15, 'handshake-algorithms': 15, echo: 9, 'expiry-burst': 7 },
    warmupMs: 2000,
    visitMs: 2000,
    handshakeConcurrency: 50,
    echo: { connections: 100, window: 16, payloadBytes: 64, pacedFraction: 0.4 },
    broadcast: { subscribers: 1000, window: 8, payloadBytes: 64 },
    renewal: { connections: 100 },
    storm: { connections: 19_000, windowMs: 10_000, rounds: 3 },
    memory: { connections: 10_000, rounds: 3 },
    expiry: { connections: 19_000, spreadMs: 5000 },
    expiryBurst: { connections: 10_000, spreadMs: 3000 },
    held: { windowMs: 32_000 },
    revocation: { small: 1000, large: 19_000, revocations: 1000, matching: 100, pacedIntervalMs: 3 },
    http: { visitMs: 5000, rounds: 3, connections: 10 },
    cluster: { instances: 3, heldPerInstance: 200, revocationsPerVisit: 100, batch: 10, subscribersPerInstance: 200, window: 8, pacedFraction: 0.4, payloadBytes: 64 },
    maxOtherLoadCores: 0.25,
    maxRepeats: 5,
    deadlineMs: 3_600_000
  }
}

export interface Options {
  mode: Mode
  /** Where latest.json, latest.md and latest.svg go. */
  outDir: string
  /** Only these scenarios (ids), when given. */
  only: string[] | undefined
  /** Free text recorded in the results (e.g. "another engineer ran the test suite meanwhile"). */
  notes: string[]
  /** Write V8 CPU profiles of the servers here (node --cpu-prof). */
  profileDir: string | undefined
  /** Rewrite the results section of bench/README.md (default for quick and full runs into bench/results). */
  updateReadme: boolean
  /**
   * A git revision whose plugin also runs, as target `plugin-hs256-base`, beside the working
   * tree's in the handshake and echo scenarios (`--against`): a before/after comparison
   * measured within the same rounds.
   */
  against: string | undefined
  /**
   * The Node binary the server processes run under (`--node`); the orchestrator and the load
   * generator stay on the Node that runs bench/run.ts, so only the server under test changes.
   */
  nodePath: string | undefined
}

/** The rounds `scenario` runs in `mode`. */
export const roundsFor = (mode: Mode, scenario: string): number => mode.scenarioRounds?.[scenario] ?? mode.rounds

export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url))
export const DEFAULT_OUT_DIR = fileURLToPath(new URL('./results/', import.meta.url))

const USAGE = `usage: npm run bench -- [--quick | --smoke] [--only a,b] [--variants a,b] [--rounds n] [--out dir] [--note text] [--profile dir]
  [--against rev] [--node path]
  (default)   every scenario, ${MODES.full.rounds} rounds
  --quick     the same scenarios with fewer rounds and smaller holds, under five minutes
  --smoke     a few seconds, tiny sizes: only checks that the suite runs
  --only      scenario ids, comma-separated (see bench/README.md)
  --variants  variant ids, comma-separated: only these (and their baselines) are visited
  --rounds    rounds for every scenario instead of the mode's
  --out       output directory (default bench/results)
  --note      a note recorded in the results, e.g. about other load on the machine
  --profile   write V8 CPU profiles of the server processes into this directory
  --against   also run the plugin as of this git revision (target plugin-hs256-base) in the
              handshake and echo scenarios: before and after a change, in the same rounds
  --node      run the server processes under this Node binary; results go to latest-node<major>.*`

export function parseOptions (argv: readonly string[]): Options {
  let mode: Mode = MODES.full
  let outDir = DEFAULT_OUT_DIR
  let only: string[] | undefined
  let profileDir: string | undefined
  let variants: string[] | undefined
  let rounds: number | undefined
  let against: string | undefined
  let nodePath: string | undefined
  const notes: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const value = (): string => {
      const next = argv[++i]
      if (next === undefined) throw new Error(`${arg} needs a value\n${USAGE}`)
      return next
    }
    if (arg === '--quick') mode = MODES.quick
    else if (arg === '--smoke') mode = MODES.smoke
    else if (arg === '--full') mode = MODES.full
    else if (arg === '--out') outDir = value()
    else if (arg === '--only') only = value().split(',').map((id) => id.trim()).filter((id) => id !== '')
    else if (arg === '--variants') variants = value().split(',').map((id) => id.trim()).filter((id) => id !== '')
    else if (arg === '--rounds') {
      rounds = Number(value())
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error(`--rounds takes an integer from 1 to 50\n${USAGE}`)
    } else if (arg === '--note') notes.push(value())
    else if (arg === '--profile') profileDir = value()
    else if (arg === '--against') against = value()
    else if (arg === '--node') nodePath = value()
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`)
      process.exit(0)
    } else throw new Error(`unknown argument ${arg}\n${USAGE}`)
  }
  if (variants !== undefined) mode = { ...mode, variants }
  if (rounds !== undefined) mode = { ...mode, rounds, scenarioRounds: undefined }
  const partial = only !== undefined || variants !== undefined || rounds !== undefined || against !== undefined
  // The README's table is the default Node line's; other lines have their own latest-node<major>.md.
  const updateReadme = mode.name !== 'smoke' && outDir === DEFAULT_OUT_DIR && !partial && nodePath === undefined
  return { mode, outDir, only, notes, profileDir, updateReadme, against, nodePath }
}
