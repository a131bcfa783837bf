// The soak: one server process (bench/soak/server.ts) holding `connections` authenticated
// sockets opened from this process, through renewal cycles, churn, expiries, refused
// renewals, revocations and application messages, sampled every `sampleSeconds`.
import { spawn } from 'node:child_process'
import { createHmac, randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { onExit } from 'signal-exit'
import { WebSocket } from 'ws'
import { BEARER_SUBPROTOCOL_PREFIX, CloseCode, SUBPROTOCOL } from '../../plugin/index.ts'
import { localAddress } from '../generator/context.ts'

export interface SoakOptions {
  minutes: number
  connections: number
  /** Lifetime of every token (spread ±25 % so that deadlines do not bunch). */
  ttlS: number
  sampleSeconds: number
  /** Shares of renewal cycles where the client lets its token expire, or renews with an expired token. */
  expireShare: number
  refusedShare: number
  churnPerSecond: number
  revocationsPerSecond: number
  messagesPerSecond: number
  /**
   * Diagnosis: after each sample the server runs a full GC that evacuates every fragmented
   * page (V8's --compact-on-every-full-gc, for that one collection), so that RSS shows what
   * is live rather than what V8 keeps committed. It changes the run: not for a run of record.
   */
  compactEachSample?: boolean
  /** Diagnosis: the server's sampling heap profile of what outlives a scavenge, from 60 s on, written here. */
  heapProfile?: string
}

export const SOAK_DEFAULTS: SoakOptions = {
  minutes: 30,
  connections: 19_000,
  ttlS: 60,
  sampleSeconds: 60,
  expireShare: 0.03,
  refusedShare: 0.02,
  churnPerSecond: 20,
  revocationsPerSecond: 1,
  messagesPerSecond: 200
}

export interface Sample {
  atS: number
  heapUsedAfterGc: number
  rss: number
  /** RSS less mapped files (/proc/self/status RssAnon). */
  rssAnon: number
  /** V8's committed heap, the memory of Buffers and other objects outside it, and of ArrayBuffers alone. */
  heapTotal: number
  external: number
  arrayBuffers: number
  /** Physical size of each V8 heap space. */
  heapSpaces: Record<string, number>
  handles: number
  registry: number
  /** Client-side: sockets open now. */
  open: number
  eventLoopDelayP99Ms: number
  eventLoopDelayMaxMs: number
  accepted: number
  renewed: number
  expired: number
  revoked: number
}

export interface SoakResult {
  options: SoakOptions
  samples: Sample[]
  /** The sample growth is measured from (minute 5, or 40 % into a run shorter than 10 minutes). */
  baselineAtS: number
  growth: { heapPct: number, rssPct: number, handles: number, registryMax: number }
  expiry: {
    /** Connections left to expire (no renewal, or a refused one). */
    expected: number
    closed: number
    /** Past their deadline by more than 5 s and still open (must be 0). */
    notClosed: number
    /** Seen by the client: from the deadline to the close event (includes this process's own event-loop lag). */
    maxLatenessMs: number
    /** Closed more than 1 s after the deadline, seen by the client. */
    lateOver1s: number
    /** The server's expiryLatenessMs histogram's maximum: from the deadline to the close, in the server. */
    serverExpiryLatenessMaxMs: number
  }
  counts: Record<string, number>
  /** Closes nothing in the run asked for, by close code (must be empty). */
  unexpectedCloses: Record<string, number>
  serverExit: string | undefined
  wallMs: number
}

interface Slot {
  ws?: WebSocket
  sub: string
  sid: string
  /** The current token's deadline (ms). */
  expMs: number
  fate: 'renew' | 'expire' | 'refused' | 'churn' | 'revoked'
  timer?: NodeJS.Timeout
  counted?: boolean
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

function sign (secret: string, claims: Record<string, unknown>): string {
  const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

export async function runSoak (options: SoakOptions, log: (line: string) => void = () => {}): Promise<SoakResult> {
  const started = Date.now()
  const secret = randomUUID() + randomUUID()
  const server = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(import.meta.dirname, 'server.ts')], {
    env: {
      ...process.env,
      SOAK_SECRET: secret,
      SOAK_COMPACT: options.compactEachSample === true ? '1' : '',
      SOAK_HEAP_PROFILE: options.heapProfile ?? ''
    },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const removeExitHook = onExit(() => { server.kill('SIGKILL') })
  // An object, so that the sampling loop reads the exit that its awaits let happen.
  const exit: { reason?: string } = {}
  server.once('exit', (code, signal) => { exit.reason = `${String(code)} / ${String(signal)}` })
  const port = await new Promise<number>((resolve, reject) => {
    let output = ''
    server.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /LISTENING (\d+)/.exec(output)
      if (match !== null) resolve(Number(match[1]))
    })
    server.once('exit', () => { reject(new Error(`soak server exited: ${output}`)) })
  })
  const url = `ws://127.0.0.1:${port}/ws`
  const http = async (method: string, path: string, body?: unknown): Promise<any> => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body)
    })
    return await response.json()
  }

  const ttlMs = options.ttlS * 1000
  const counts: Record<string, number> = { handshakes: 0, accepted: 0, refusedHandshakes: 0, renewalsSent: 0, renewed: 0, renewalsRefused: 0, churned: 0, revocations: 0, messagesSent: 0, echoes: 0, expiredClosed: 0 }
  const unexpected: Record<string, number> = {}
  const lateness: number[] = []
  let expected = 0
  let notClosed = 0
  let running = true
  let next = 0
  const slots: Slot[] = Array.from({ length: options.connections }, () => ({ sub: '', sid: '', expMs: 0, fate: 'renew' as const }))
  const token = (slot: Slot, expMs: number): string => sign(secret, { sub: slot.sub, sid: slot.sid, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), exp: expMs / 1000 })
  const freshExp = (): number => Date.now() + ttlMs * (0.75 + Math.random() * 0.5)

  /** Plans the slot's next cycle: renew before the deadline, or let it lapse (and count on the server to close it). */
  const plan = (slot: Slot): void => {
    clearTimeout(slot.timer)
    // Being closed by the run (churn, revocation): a renewal answered meanwhile changes nothing.
    if (slot.fate === 'churn' || slot.fate === 'revoked') return
    const roll = Math.random()
    slot.fate = roll < options.expireShare ? 'expire' : roll < options.expireShare + options.refusedShare ? 'refused' : 'renew'
    if (slot.fate === 'expire') { expected++; return }
    if (slot.fate === 'refused') expected++
    // A few seconds before the deadline, spread; never more often than the default renewal
    // limit (5 a minute) allows for the shortest tokens the command takes.
    const renewIn = Math.max(100, slot.expMs - Date.now() - 3000 - Math.random() * Math.min(10_000, ttlMs / 6))
    slot.timer = setTimeout(() => {
      if (slot.ws?.readyState !== WebSocket.OPEN) return
      counts.renewalsSent = (counts.renewalsSent ?? 0) + 1
      if (slot.fate === 'refused') {
        // An already expired token: refused, and the old deadline holds.
        slot.ws.send(JSON.stringify({ type: 'renew', token: token(slot, Date.now() - 5000), id: 'bad' }))
        return
      }
      const expMs = freshExp()
      slot.ws.send(JSON.stringify({ type: 'renew', token: token(slot, expMs), id: String(expMs) }))
    }, renewIn)
  }

  const connect = (index: number): void => {
    const slot = slots[index] as Slot
    const n = next++
    slot.sub = `user-${n % 5000}`
    slot.sid = `s-${n}`
    slot.expMs = freshExp()
    slot.fate = 'renew'
    slot.counted = false
    counts.handshakes = (counts.handshakes ?? 0) + 1
    const ws = new WebSocket(url, [SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${token(slot, slot.expMs)}`], { localAddress: localAddress(), handshakeTimeout: 30_000 })
    slot.ws = ws
    let authenticated = false
    ws.on('message', (data) => {
      const text = String(data)
      if (!text.startsWith('{"type"')) { counts.echoes = (counts.echoes ?? 0) + 1; return }
      const frame = JSON.parse(text) as { type: string, id?: string, code?: string, expiresAt?: number }
      if (frame.type === 'authenticated') {
        authenticated = true
        counts.accepted = (counts.accepted ?? 0) + 1
        plan(slot)
      } else if (frame.type === 'renewed') {
        counts.renewed = (counts.renewed ?? 0) + 1
        slot.expMs = Number(frame.id)
        plan(slot)
      } else if (frame.type === 'auth_error' && frame.id === 'bad') {
        counts.renewalsRefused = (counts.renewalsRefused ?? 0) + 1
      } else if (frame.type === 'auth_error' && frame.id !== undefined) {
        // A renewal that should have been accepted: shown, and its socket's close counts as unexpected.
        const key = `unexpected auth_error ${String(frame.code)}`
        counts[key] = (counts[key] ?? 0) + 1
      }
    })
    ws.on('error', () => {})
    ws.on('close', (code) => {
      clearTimeout(slot.timer)
      if (!authenticated) counts.refusedHandshakes = (counts.refusedHandshakes ?? 0) + 1
      else if ((slot.fate === 'expire' || slot.fate === 'refused') && code === CloseCode.CredentialExpired) {
        counts.expiredClosed = (counts.expiredClosed ?? 0) + 1
        if (!slot.counted) lateness.push(Date.now() - slot.expMs)
      } else if (!(slot.fate === 'churn' && code === 1000) && !(slot.fate === 'revoked' && code === CloseCode.CredentialRevoked) && running) {
        const key = `${slot.fate} ${code}`
        unexpected[key] = (unexpected[key] ?? 0) + 1
      }
      if (running) setTimeout(() => { connect(index) }, 50 + Math.random() * 200)
    })
  }

  const openSlots = (): number[] => slots.flatMap((slot, i) => slot.ws?.readyState === WebSocket.OPEN ? [i] : [])
  const randomOpen = (): Slot | undefined => {
    for (let tries = 0; tries < 20; tries++) {
      const slot = slots[Math.floor(Math.random() * slots.length)] as Slot
      if (slot.ws?.readyState === WebSocket.OPEN && slot.fate === 'renew') return slot
    }
    return undefined
  }

  // Ramp: a bounded number of handshakes in flight.
  log(`opening ${options.connections} connections`)
  for (let i = 0; i < options.connections; i += 250) {
    for (let j = i; j < Math.min(options.connections, i + 250); j++) connect(j)
    const target = Math.min(options.connections, i + 250)
    while (counts.accepted! + counts.refusedHandshakes! < target) await sleep(20)
  }
  log(`open: ${openSlots().length} after ${((Date.now() - started) / 1000).toFixed(0)} s`)

  const timers: NodeJS.Timeout[] = []
  const every = (perSecond: number, job: () => void): void => {
    if (perSecond <= 0) return
    const batch = Math.max(1, Math.round(perSecond / 10))
    timers.push(setInterval(() => { for (let i = 0; i < batch; i++) job() }, 1000 * batch / perSecond))
  }
  every(options.churnPerSecond, () => {
    const slot = randomOpen()
    if (slot === undefined) return
    slot.fate = 'churn'
    counts.churned = (counts.churned ?? 0) + 1
    slot.ws?.close(1000)
  })
  every(options.revocationsPerSecond, () => {
    const slot = randomOpen()
    if (slot === undefined) return
    slot.fate = 'revoked'
    counts.revocations = (counts.revocations ?? 0) + 1
    http('POST', '/revoke', { sessionId: slot.sid }).catch(() => {})
  })
  every(options.messagesPerSecond, () => {
    const slot = randomOpen()
    if (slot === undefined) return
    counts.messagesSent = (counts.messagesSent ?? 0) + 1
    slot.ws?.send('app message')
  })
  const checkDeadlines = (): void => {
    const now = Date.now()
    for (const slot of slots) {
      if ((slot.fate === 'expire' || slot.fate === 'refused') && !slot.counted && slot.ws?.readyState === WebSocket.OPEN && now > slot.expMs + 5000) {
        slot.counted = true
        notClosed++
      }
    }
  }
  timers.push(setInterval(checkDeadlines, 1000))

  const samples: Sample[] = []
  const soakStart = Date.now()
  const end = soakStart + options.minutes * 60_000
  while (Date.now() < end && exit.reason === undefined) {
    await sleep(Math.min(options.sampleSeconds * 1000, end - Date.now()))
    if (exit.reason !== undefined) break
    const s = await http('GET', '/sample')
    const sample: Sample = { atS: Math.round((Date.now() - soakStart) / 1000), open: openSlots().length, ...s }
    delete (sample as { expiryLatenessMs?: unknown }).expiryLatenessMs
    samples.push(sample)
    log(`${sample.atS} s: heap ${(sample.heapUsedAfterGc / 2 ** 20).toFixed(1)} MiB, rss ${(sample.rss / 2 ** 20).toFixed(0)} MiB (heapTotal ${(sample.heapTotal / 2 ** 20).toFixed(0)}, external ${(sample.external / 2 ** 20).toFixed(0)}), handles ${sample.handles}, registry ${sample.registry}, open ${sample.open}, loop p99 ${sample.eventLoopDelayP99Ms.toFixed(1)} ms, renewed ${sample.renewed}, expired ${sample.expired}`)
  }
  running = false
  for (const timer of timers) clearInterval(timer)
  checkDeadlines()
  const last = await http('GET', '/sample').catch(() => undefined)
  for (const slot of slots) { clearTimeout(slot.timer); slot.ws?.terminate() }
  // Read before the run stops the server itself.
  const serverExit = exit.reason
  server.kill('SIGTERM')
  removeExitHook()

  const baselineAtS = options.minutes >= 10 ? 300 : options.minutes * 60 * 0.4
  const baseline = samples.find((s) => s.atS >= baselineAtS - 1) ?? samples[0]
  const final = samples.at(-1)
  const pct = (a: number, b: number): number => Math.round((b / a - 1) * 1000) / 10
  return {
    options,
    samples,
    baselineAtS: baseline?.atS ?? 0,
    growth: {
      heapPct: baseline !== undefined && final !== undefined ? pct(baseline.heapUsedAfterGc, final.heapUsedAfterGc) : NaN,
      rssPct: baseline !== undefined && final !== undefined ? pct(baseline.rss, final.rss) : NaN,
      handles: baseline !== undefined && final !== undefined ? final.handles - baseline.handles : NaN,
      registryMax: Math.max(...samples.map((s) => s.registry))
    },
    expiry: {
      expected,
      closed: counts.expiredClosed ?? 0,
      notClosed,
      maxLatenessMs: Math.max(0, ...lateness),
      lateOver1s: lateness.filter((ms) => ms > 1000).length,
      serverExpiryLatenessMaxMs: last?.expiryLatenessMs?.max ?? NaN
    },
    counts,
    unexpectedCloses: unexpected,
    serverExit,
    wallMs: Date.now() - started
  }
}
