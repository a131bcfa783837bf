// The steady load of a fault run, and its ledger: every held socket, every revocation that
// revoke() resolved, every admission of the shared per-subject limit.
import { createHmac, randomUUID } from 'node:crypto'
import { WebSocket } from 'ws'
import { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL } from '../../plugin/index.ts'
import { localAddress } from '../generator/context.ts'
import type { InstanceProcess } from './cluster.ts'

export interface Rates {
  /** New connections per second (spread over the instances). */
  handshakes: number
  renewals: number
  revocations: number
  /** Sockets kept open on each instance; the oldest close as new ones come (churn). */
  heldPerInstance: number
}

export type Outcome = { open: true, ws: WebSocket } | { open: false, code: number, reason: string }

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

export function signToken (secret: string, claims: { sub: string, sid: string, exp: number }): string {
  const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ ...claims, jti: randomUUID(), iat: Math.floor(Date.now() / 1000) })}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** Opens an authenticated socket; resolves once `authenticated` came or the socket closed (or the upgrade was refused). */
export async function openSocket (url: string, token: string, timeoutMs = 10_000): Promise<Outcome> {
  return await new Promise((resolve) => {
    const ws = new WebSocket(url, [SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${token}`], { localAddress: localAddress(), handshakeTimeout: timeoutMs })
    let settled = false
    const settle = (outcome: Outcome): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(outcome)
    }
    const timer = setTimeout(() => { ws.terminate(); settle({ open: false, code: 0, reason: 'client_timeout' }) }, timeoutMs)
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type?: string }
      if (frame.type === 'authenticated') settle({ open: true, ws })
    })
    ws.on('unexpected-response', (_req, res) => { settle({ open: false, code: res.statusCode ?? 0, reason: 'http' }); ws.terminate() })
    ws.on('close', (code, reason) => { settle({ open: false, code, reason: String(reason) }) })
    ws.on('error', () => { settle({ open: false, code: 0, reason: 'error' }) })
  })
}

export interface HeldSocket {
  readonly sub: string
  readonly sid: string
  readonly instance: number
  readonly ws: WebSocket
  closeCode?: number
}

export interface ResolvedRevocation {
  readonly sid: string
  readonly sub: string
  /** When revoke() was asked for, and when it resolved (ms since the epoch). */
  readonly startedAt: number
  readonly at: number
  readonly socket: HeldSocket | undefined
}

export class Load {
  readonly held = new Set<HeldSocket>()
  readonly revocations: ResolvedRevocation[] = []
  readonly counts = {
    handshakes: 0,
    accepted: 0,
    refused: {} as Record<string, number>,
    renewals: 0,
    renewed: 0,
    renewalRefused: {} as Record<string, number>,
    revocationsResolved: 0,
    revocationsRejected: 0
  }

  readonly #instances: InstanceProcess[]
  readonly #secret: string
  readonly #rates: Rates
  readonly #timers: NodeJS.Timeout[] = []
  readonly #inflight = new Set<Promise<unknown>>()
  #next = 0

  constructor (instances: InstanceProcess[], secret: string, rates: Rates) {
    this.#instances = instances
    this.#secret = secret
    this.#rates = rates
  }

  token (sub: string, sid: string, ttlS = 60): string {
    return signToken(this.#secret, { sub, sid, exp: Math.floor(Date.now() / 1000) + ttlS })
  }

  get alive (): InstanceProcess[] {
    return this.#instances.filter((instance) => instance.alive)
  }

  #track<T>(promise: Promise<T>): void {
    this.#inflight.add(promise)
    promise.finally(() => this.#inflight.delete(promise)).catch(() => {})
  }

  #every (perSecond: number, job: () => Promise<unknown>): void {
    if (perSecond <= 0) return
    this.#timers.push(setInterval(() => { this.#track(job()) }, 1000 / perSecond))
  }

  /** Opens a held socket on `instance` (a fresh subject and session each). */
  async hold (instance: InstanceProcess): Promise<HeldSocket | undefined> {
    const n = this.#next++
    const sub = `user-${n}`
    const sid = `s-${n}-${randomUUID().slice(0, 8)}`
    this.counts.handshakes++
    const outcome = await openSocket(instance.url, this.token(sub, sid))
    if (!outcome.open) {
      const key = `${outcome.code} ${outcome.reason}`
      this.counts.refused[key] = (this.counts.refused[key] ?? 0) + 1
      return undefined
    }
    this.counts.accepted++
    const socket: HeldSocket = { sub, sid, instance: instance.index, ws: outcome.ws }
    this.held.add(socket)
    outcome.ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type?: string, code?: string }
      if (frame.type === 'renewed') this.counts.renewed++
      else if (frame.type === 'auth_error' && frame.code !== undefined) {
        this.counts.renewalRefused[frame.code] = (this.counts.renewalRefused[frame.code] ?? 0) + 1
      }
    })
    outcome.ws.on('close', (code) => { socket.closeCode = code })
    return socket
  }

  #open (): HeldSocket[] {
    return [...this.held].filter((socket) => socket.ws.readyState === WebSocket.OPEN)
  }

  #pick (): HeldSocket | undefined {
    const open = this.#open()
    return open[Math.floor(Math.random() * open.length)]
  }

  start (): void {
    this.#every(this.#rates.handshakes, async () => {
      const alive = this.alive
      const instance = alive[this.#next % alive.length]
      if (instance === undefined) return
      await this.hold(instance)
      // Churn: beyond the target, the oldest open socket of that instance goes.
      const mine = this.#open().filter((socket) => socket.instance === instance.index)
      if (mine.length > this.#rates.heldPerInstance) mine[0]?.ws.close(1000)
    })
    this.#every(this.#rates.renewals, async () => {
      const socket = this.#pick()
      if (socket === undefined) return
      this.counts.renewals++
      socket.ws.send(JSON.stringify({ type: 'renew', token: this.token(socket.sub, socket.sid), id: `r${this.counts.renewals}` }))
    })
    this.#every(this.#rates.revocations, async () => { await this.revokeOne() })
  }

  /** Revokes a random open socket's session through another instance than the socket's, so the channel must carry it. */
  async revokeOne (): Promise<void> {
    const socket = this.#pick()
    const via = this.alive.filter((instance) => instance.index !== socket?.instance)
    const instance = via[Math.floor(Math.random() * via.length)]
    if (socket === undefined || instance === undefined) return
    const startedAt = Date.now()
    try {
      const answer = await instance.request('POST', '/revoke', { sessionId: socket.sid, expiresAt: Date.now() + 600_000 })
      if (answer.status === 200) {
        this.counts.revocationsResolved++
        this.revocations.push({ sid: socket.sid, sub: socket.sub, startedAt, at: Date.now(), socket })
        return
      }
    } catch {}
    this.counts.revocationsRejected++
  }

  /** `count` revocations at once: aimed at the moment a channel is deaf or coming back. */
  async revokeBurst (count: number): Promise<void> {
    await Promise.all(Array.from({ length: count }, async () => { await this.revokeOne() }))
  }

  async fill (): Promise<void> {
    for (const instance of this.alive) {
      const mine = this.#open().filter((socket) => socket.instance === instance.index).length
      await Promise.all(Array.from({ length: Math.max(0, this.#rates.heldPerInstance - mine) }, async () => await this.hold(instance)))
    }
  }

  async stop (): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer)
    this.#timers.length = 0
    await Promise.allSettled([...this.#inflight])
  }

  /** Closes every socket and waits for the closes. */
  async close (): Promise<void> {
    await this.stop()
    await Promise.all(this.#open().map(async (socket) => {
      await new Promise<void>((resolve) => {
        socket.ws.once('close', () => { resolve() })
        socket.ws.close(1000)
        setTimeout(() => { socket.ws.terminate(); resolve() }, 3000).unref()
      })
    }))
  }
}
