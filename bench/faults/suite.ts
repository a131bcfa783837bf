// The fault suite: faults injected one after another into a running deployment (one
// redis-server, its proxy, 3 plugin instances in their own processes) under steady load,
// each followed by the checks of what must have survived it.
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { InstanceProcess, RedisProcess } from './cluster.ts'
import { Load, openSocket, type Rates, type ResolvedRevocation } from './load.ts'
import { ThrottlingProxy } from './proxy.ts'

export type FaultName = 'pubsub-kill' | 'redis-sigstop' | 'slow-redis' | 'redis-sigkill-everysec' | 'redis-sigkill-always' | 'redis-restart-empty' | 'instance-sigkill'

export const FAULTS: readonly FaultName[] = ['pubsub-kill', 'redis-sigstop', 'slow-redis', 'redis-sigkill-everysec', 'redis-sigkill-always', 'redis-restart-empty', 'instance-sigkill']

export interface Profile {
  instances: number
  rates: Rates
  /** Load before and after each fault. */
  phaseMs: number
  /** How long Redis stays dead before its restart. */
  downMs: number
  /** SIGSTOP to SIGCONT; longer than `commandTimeoutMs`. */
  stopMs: number
  commandTimeoutMs: number
  /** Added to every chunk both ways by the proxy, for `slowForMs`. */
  slowMs: number
  slowForMs: number
  leaseMs: number
  maxPerSubject: number
  /** Revocations fired at once as a channel goes deaf or comes back. */
  burst: number
  /** Each fault is injected this many times (every run but the instance kill, which runs last, once). */
  rounds: number
}

export const QUICK: Profile = {
  instances: 3,
  rates: { handshakes: 12, renewals: 12, revocations: 4, heldPerInstance: 12 },
  phaseMs: 1200,
  downMs: 800,
  stopMs: 2000,
  commandTimeoutMs: 1000,
  slowMs: 200,
  slowForMs: 2500,
  leaseMs: 3000,
  maxPerSubject: 2,
  burst: 8,
  rounds: 1
}

export const FULL: Profile = {
  instances: 3,
  rates: { handshakes: 40, renewals: 60, revocations: 10, heldPerInstance: 300 },
  phaseMs: 5000,
  downMs: 3000,
  stopMs: 6000,
  commandTimeoutMs: 2000,
  slowMs: 400,
  slowForMs: 10_000,
  leaseMs: 10_000,
  maxPerSubject: 2,
  burst: 30,
  rounds: 3
}

export interface FaultResult {
  fault: FaultName
  round: number
  /** From the fault's start to its end (restart, SIGCONT, proxy back to full speed). */
  faultMs: number
  /** From the fault's end until a handshake succeeded on every live instance and every channel subscription was up. */
  recoveryMs: number
  revocationsResolved: number
  revocationsRejected: number
  /** Resolved revocations a later handshake on some instance did not enforce (must be 0). */
  notEnforced: number
  /** The same, within a loss the README documents (AOF everysec's last second, a restart without persistence). */
  notEnforcedDocumented: number
  /** Sockets of sessions whose revocation resolved that were still open after recovery (must be 0). */
  revokedSocketsLeftOpen: number
  /** Sockets of a subject open at once beyond `maxPerSubject` (must be 0 outside a documented loss). */
  overAdmitted: number
  overAdmittedDocumented: number
  handshakes: { attempted: number, accepted: number, refused: Record<string, number> }
  /** Renewals sent and answered `renewed`, and every `auth_error` the held sockets got (revocations close with credential_revoked). */
  renewals: { sent: number, renewed: number, authErrors: Record<string, number> }
  /** instance-sigkill: from the kill until the subject's slots were free again; the README promises ≤ leaseMs. */
  leaseFreedMs?: number
  crashed: string[]
}

export interface SuiteResult {
  profile: Profile
  redisVersion: string
  faults: FaultResult[]
  /** After every client closed: sockets each live instance still counted (must be 0). */
  leakedConnections: number
  /** Active handles of each live instance at start and at the end. */
  handles: Array<{ instance: number, start: number, end: number }>
  crashed: string[]
  wallMs: number
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

async function until (predicate: () => Promise<boolean> | boolean, ms: number, stepMs = 50): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    try { if (await predicate()) return true } catch {}
    await sleep(stepMs)
  }
  return false
}

const diff = (after: Record<string, number>, before: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => (v as number) > 0))

/**
 * Probes the shared per-subject limit all through a fault: rounds of a fresh subject, whose
 * `max` slots are taken and held while more handshakes for it keep coming on every
 * instance; any of those let in while `max` are open is an over-admission.
 */
class LimitProber {
  overAdmitted = 0
  readonly overAdmittedAt: number[] = []
  #running = true
  readonly #done: Promise<void>

  constructor (load: Load, max: number) {
    this.#done = this.#loop(load, max)
  }

  async #loop (load: Load, max: number): Promise<void> {
    while (this.#running) {
      const sub = `cap-${randomUUID().slice(0, 8)}`
      const open: import('ws').WebSocket[] = []
      const attempt = async (): Promise<void> => {
        const alive = load.alive
        const instance = alive[Math.floor(Math.random() * alive.length)]
        if (instance === undefined) return
        const outcome = await openSocket(instance.url, load.token(sub, randomUUID()), 5000)
        if (!outcome.open) return
        const stillOpen = open.filter((ws) => ws.readyState === ws.OPEN).length
        if (stillOpen >= max) {
          this.overAdmitted++
          this.overAdmittedAt.push(Date.now())
        }
        open.push(outcome.ws)
      }
      await Promise.all(Array.from({ length: max + 1 }, attempt))
      for (let i = 0; i < 4 && this.#running; i++) {
        await sleep(250)
        await attempt()
      }
      for (const ws of open) ws.close(1000)
    }
  }

  async stop (): Promise<void> {
    this.#running = false
    await this.#done
  }
}

export async function runSuite (profile: Profile, log: (line: string) => void = () => {}, faults: readonly FaultName[] = FAULTS): Promise<SuiteResult> {
  const started = Date.now()
  const secret = randomUUID() + randomUUID()
  const redis = await RedisProcess.start()
  const proxy = await ThrottlingProxy.start(redis.port)
  const admin = new Redis(redis.port, '127.0.0.1', { retryStrategy: () => 100, maxRetriesPerRequest: 1, lazyConnect: false })
  admin.on('error', () => {})
  const prefix = `faults${randomUUID().slice(0, 6)}:`
  const settings = { redisPort: proxy.port, secret, prefix, leaseMs: profile.leaseMs, maxPerSubject: profile.maxPerSubject, commandTimeoutMs: profile.commandTimeoutMs }
  const instances = await Promise.all(Array.from({ length: profile.instances }, async (_, i) => await InstanceProcess.start(i, settings)))
  const load = new Load(instances, secret, profile.rates)
  const results: FaultResult[] = []
  const handlesAtStart = new Map<number, number>()
  try {
    const subscribed = async (): Promise<boolean> =>
      (await admin.pubsub('NUMSUB', `${prefix}events`) as [string, number])[1] === load.alive.length
    if (!await until(subscribed, 10_000)) throw new Error('instances did not subscribe')
    for (const instance of instances) handlesAtStart.set(instance.index, (await instance.request('GET', '/stats')).body.handles)
    await load.fill()
    load.start()
    const schedule: Array<{ fault: FaultName, round: number }> = faults.flatMap((fault) => fault === 'instance-sigkill' ? [] : Array.from({ length: profile.rounds }, (_, round) => ({ fault, round })))
    if (faults.includes('instance-sigkill')) schedule.push({ fault: 'instance-sigkill', round: 0 })
    for (const { fault, round } of schedule) {
      log(`fault ${fault} (round ${round + 1})`)
      results.push(await injectOne(fault, round))
      const last = results.at(-1) as FaultResult
      log(`  recovery ${last.recoveryMs} ms, resolved ${last.revocationsResolved}, not enforced ${last.notEnforced} (+${last.notEnforcedDocumented} documented), left open ${last.revokedSocketsLeftOpen}, over-admitted ${last.overAdmitted} (+${last.overAdmittedDocumented} documented)${last.leaseFreedMs === undefined ? '' : `, slots freed ${last.leaseFreedMs} ms after the kill`}`)
    }
    await load.close()
    let leaked = 0
    const handles: SuiteResult['handles'] = []
    for (const instance of load.alive) {
      let count = -1
      await until(async () => {
        count = (await instance.request('GET', '/stats')).body.connections
        return count === 0
      }, 5000, 100)
      leaked += count
      handles.push({ instance: instance.index, start: handlesAtStart.get(instance.index) ?? 0, end: (await instance.request('GET', '/stats')).body.handles })
    }
    const version = String((await admin.info('server')).match(/redis_version:(\S+)/)?.[1])
    return {
      profile,
      redisVersion: version,
      faults: results,
      leakedConnections: leaked,
      handles,
      crashed: instances.flatMap((instance) => instance.crashed === undefined ? [] : [`instance ${instance.index} ${instance.crashed}`]),
      wallMs: Date.now() - started
    }
  } finally {
    await load.close()
    admin.disconnect()
    await Promise.all(instances.map(async (instance) => await instance.kill('SIGTERM')))
    await proxy.close()
    await redis.close()
  }

  async function injectOne (fault: FaultName, round: number): Promise<FaultResult> {
    const before = structuredClone(load.counts)
    const firstRevocation = load.revocations.length
    const prober = new LimitProber(load, profile.maxPerSubject)
    await sleep(profile.phaseMs)
    let faultStart = Date.now()
    let leaseFreedMs: number | undefined
    /** Resolved revocations that a documented loss may forget. */
    let documentedFrom = Infinity
    let documentedTo = -Infinity
    switch (fault) {
      case 'pubsub-kill':
        await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
        // While every channel is down (each reconnects within about 100 ms): only the
        // re-check on resubscribe can close these sockets on the other instances.
        await load.revokeBurst(profile.burst)
        break
      case 'redis-sigstop':
        redis.signal('SIGSTOP')
        await sleep(profile.stopMs)
        redis.signal('SIGCONT')
        break
      case 'slow-redis':
        proxy.delayMs = profile.slowMs
        await sleep(profile.slowForMs)
        proxy.delayMs = 0
        break
      case 'redis-sigkill-everysec':
      case 'redis-sigkill-always':
      case 'redis-restart-empty': {
        const fsync = fault === 'redis-sigkill-always' ? 'always' : 'everysec'
        redis.fsync = fsync
        await admin.config('SET', 'appendfsync', fsync)
        faultStart = Date.now()
        await redis.kill()
        if (fault === 'redis-restart-empty') {
          redis.wipe()
          documentedFrom = 0
        } else if (fsync === 'everysec') {
          // everysec fsyncs once a second, and may wait up to another second for a slow fsync.
          documentedFrom = faultStart - 2000
        }
        await sleep(profile.downMs)
        await redis.start()
        // A revoke() asked for before the restart and resolved after it may have been
        // written to the Redis that was lost (it cannot have been written while it was down).
        documentedTo = Date.now()
        // As the instances reconnect and resubscribe: a revocation must not slip between the two.
        await load.revokeBurst(profile.burst)
        break
      }
      case 'instance-sigkill': {
        const [victim] = load.alive.slice(-1)
        if (victim === undefined) throw new Error('no instance to kill')
        const sub = `lease-${randomUUID().slice(0, 8)}`
        for (let i = 0; i < profile.maxPerSubject; i++) {
          const outcome = await openSocket(victim.url, load.token(sub, randomUUID()))
          if (!outcome.open) throw new Error(`could not fill the victim's slots: ${outcome.reason}`)
        }
        faultStart = Date.now()
        await victim.kill('SIGKILL')
        const survivor = load.alive[0] as InstanceProcess
        await until(async () => {
          const outcome = await openSocket(survivor.url, load.token(sub, randomUUID()))
          if (!outcome.open) return false
          leaseFreedMs = Date.now() - faultStart
          outcome.ws.close(1000)
          return true
        }, profile.leaseMs * 3, 100)
        break
      }
    }
    const faultEnd = Date.now()
    const healthy = async (): Promise<boolean> => {
      if (!await (async () => (await admin.pubsub('NUMSUB', `${prefix}events`) as [string, number])[1] === load.alive.length)()) return false
      for (const instance of load.alive) {
        const outcome = await openSocket(instance.url, load.token(`probe-${randomUUID()}`, randomUUID()), 3000)
        if (!outcome.open) return false
        outcome.ws.close(1000)
      }
      return true
    }
    await until(healthy, 60_000, 50)
    const recoveryMs = Date.now() - faultEnd
    await sleep(profile.phaseMs)
    await prober.stop()
    // What was resolved up to here is checked; the resync after a lost channel has had recoveryMs + phaseMs.
    const revocations = load.revocations.slice(firstRevocation)
    let notEnforced = 0
    let notEnforcedDocumented = 0
    let leftOpen = 0
    for (const revocation of revocations) {
      const documented = revocation.at >= documentedFrom && revocation.startedAt <= documentedTo
      if (await enforcedEverywhere(revocation)) continue
      if (documented) notEnforcedDocumented++
      else notEnforced++
    }
    for (const revocation of revocations) {
      const socket = revocation.socket
      if (socket === undefined || !instances[socket.instance]?.alive) continue
      if (socket.ws.readyState === socket.ws.OPEN) leftOpen++
    }
    const overDocumented = fault === 'redis-restart-empty' || fault === 'redis-sigkill-everysec'
      ? prober.overAdmittedAt.filter((at) => at >= faultStart).length
      : 0
    return {
      fault,
      round,
      faultMs: faultEnd - faultStart,
      recoveryMs,
      revocationsResolved: revocations.length,
      revocationsRejected: load.counts.revocationsRejected - before.revocationsRejected,
      notEnforced,
      notEnforcedDocumented,
      revokedSocketsLeftOpen: leftOpen,
      overAdmitted: prober.overAdmitted - overDocumented,
      overAdmittedDocumented: overDocumented,
      handshakes: { attempted: load.counts.handshakes - before.handshakes, accepted: load.counts.accepted - before.accepted, refused: diff(load.counts.refused, before.refused) },
      renewals: { sent: load.counts.renewals - before.renewals, renewed: load.counts.renewed - before.renewed, authErrors: diff(load.counts.renewalRefused, before.renewalRefused) },
      leaseFreedMs,
      crashed: instances.flatMap((instance) => instance.crashed === undefined ? [] : [`instance ${instance.index} ${instance.crashed}`])
    }
  }

  /** A handshake with the revoked session's credential is refused with credential_revoked on every live instance. */
  async function enforcedEverywhere (revocation: ResolvedRevocation): Promise<boolean> {
    for (const instance of load.alive) {
      for (let attempt = 0; ; attempt++) {
        const outcome = await openSocket(instance.url, load.token(revocation.sub, revocation.sid))
        if (outcome.open) {
          outcome.ws.close(1000)
          return false
        }
        if (outcome.reason === 'credential_revoked') break
        // Refused for another reason (Redis still settling): ask again, a bounded number of times.
        if (attempt === 10) return false
        await sleep(100)
      }
    }
    return true
  }
}
