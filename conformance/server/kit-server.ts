import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import { SUBPROTOCOL } from '../../protocol/index.ts'
import { CaseFailed, CaseRun, Handshake, type CaseDefinition, type CaseResult } from './case-run.ts'
import { TokenIssuer } from './tokens.ts'

/** How long one case may run before it is failed; every case is designed to end well before. */
const CASE_TIMEOUT_MS = 30_000

export interface KitServerOptions {
  cases: readonly CaseDefinition[]
  /** Called after each case ends, with every result so far (to write the reports). */
  onResult?: (results: CaseResult[]) => void
}

interface CaseState {
  definition: CaseDefinition
  run: CaseRun | undefined
  result: CaseResult | undefined
  /** Resolves waiting `GET /cases/<id>/result` requests. */
  waiters: Array<(result: CaseResult) => void>
}

/**
 * The conformance server of client grading (Autobahn's model): it serves numbered cases;
 * for each, the client under test fetches a token (`POST /cases/<id>/token`) and connects
 * to `/cases/<id>/ws`; the case's script answers and records what the client does.
 */
export class KitServer {
  readonly #server: Server
  readonly #wss = new WebSocketServer({
    noServer: true,
    // Select wsauth.v1 only; a bearer entry is never echoed (SPEC §2.1).
    handleProtocols: (offered, request) => offered.has(SUBPROTOCOL) && this.#caseOf(request.url)?.definition.selectsNoSubprotocol !== true ? SUBPROTOCOL : false
  })

  readonly #cases = new Map<string, CaseState>()
  readonly #issuer = new TokenIssuer()
  readonly #onResult: ((results: CaseResult[]) => void) | undefined

  constructor (options: KitServerOptions) {
    for (const definition of options.cases) this.#cases.set(definition.id, { definition, run: undefined, result: undefined, waiters: [] })
    this.#onResult = options.onResult
    this.#server = createServer((request, response) => { this.#route(request, response).catch(() => { response.destroy() }) })
    this.#server.on('upgrade', (request: IncomingMessage, socket, head: Buffer) => { this.#upgrade(request, socket, head) })
  }

  async listen (port = 0, host = '127.0.0.1'): Promise<string> {
    this.#server.listen(port, host)
    await once(this.#server, 'listening')
    const { port: bound } = this.#server.address() as AddressInfo
    return `http://${host}:${bound}`
  }

  async close (): Promise<void> {
    for (const state of this.#cases.values()) state.run?.finish()
    this.#server.closeAllConnections()
    await new Promise((resolve) => { this.#server.close(resolve) })
  }

  /** Every case's result; `not run` for those no client has run. */
  results (): CaseResult[] {
    return [...this.#cases.values()].map(({ definition, result }) => result ?? {
      id: definition.id, section: definition.section, title: definition.title, rule: definition.rule, status: 'not run', reasons: [], durationMs: 0, timeline: []
    })
  }

  async #route (request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://kit')
    const base = `http://${request.headers.host ?? 'localhost'}`
    const parts = url.pathname.split('/').filter((part) => part.length > 0)
    if (request.method === 'GET' && url.pathname === '/cases') {
      const cases = [...this.#cases.values()].map(({ definition: d }) => ({
        id: d.id,
        section: d.section,
        title: d.title,
        rule: d.rule,
        transport: d.transport ?? null,
        requires: d.requires ?? [],
        tokenUrl: `${base}/cases/${d.id}/token`,
        url: `${base.replace(/^http/, 'ws')}/cases/${d.id}/ws`,
        resultUrl: `${base}/cases/${d.id}/result`
      }))
      return json(response, 200, { cases })
    }
    if (request.method === 'GET' && url.pathname === '/results') return json(response, 200, { results: this.results() })
    const state = parts[0] === 'cases' && parts.length === 3 ? this.#cases.get(parts[1] as string) : undefined
    if (state === undefined) return json(response, 404, { error: 'not_found', message: 'GET /cases lists the cases' })
    if (request.method === 'POST' && parts[2] === 'token') {
      request.resume()
      const run = this.#runOf(state)
      const issued = await run.issueToken()
      return json(response, 200, { accessToken: issued.token, expiresIn: issued.deadline - issued.issuedAt })
    }
    if (request.method === 'GET' && parts[2] === 'result') {
      const result = state.run === undefined && state.result !== undefined ? state.result : await new Promise<CaseResult>((resolve) => { state.waiters.push(resolve) })
      return json(response, 200, { id: result.id, status: result.status, reasons: result.reasons })
    }
    return json(response, 404, { error: 'not_found', message: 'POST /cases/<id>/token, GET /cases/<id>/result, or a WebSocket to /cases/<id>/ws' })
  }

  /** The case whose WebSocket URL `url` is. */
  #caseOf (url: string | undefined): CaseState | undefined {
    const parts = (url ?? '/').split('?')[0]?.split('/').filter((part) => part.length > 0) ?? []
    return parts[0] === 'cases' && parts[2] === 'ws' && parts.length === 3 ? this.#cases.get(parts[1] as string) : undefined
  }

  #upgrade (request: IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void {
    const run = this.#caseOf(request.url)?.run
    if (run === undefined) {
      socket.end('HTTP/1.1 410 Gone\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
      return
    }
    run.addHandshake(new Handshake(request, socket, head, run, this.#wss))
  }

  /** The case's run under way, or a new one: a run starts with the client's first token request. */
  #runOf (state: CaseState): CaseRun {
    if (state.run !== undefined) return state.run
    const run = new CaseRun(state.definition, this.#issuer)
    state.run = run
    this.#execute(state, run).catch(() => {})
    return run
  }

  async #execute (state: CaseState, run: CaseRun): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => { timer = setTimeout(() => { run.violation(`the case did not end within ${CASE_TIMEOUT_MS} ms`); resolve() }, CASE_TIMEOUT_MS) })
    try {
      await Promise.race([state.definition.run(run), timeout])
    } catch (error) {
      if (!(error instanceof CaseFailed)) run.violation(`the kit failed: ${error instanceof Error ? error.message : String(error)}`)
    } finally {
      clearTimeout(timer)
    }
    run.finish()
    const { definition } = state
    const result: CaseResult = {
      id: definition.id,
      section: definition.section,
      title: definition.title,
      rule: definition.rule,
      status: run.failures.length === 0 ? 'pass' : 'fail',
      reasons: run.failures,
      durationMs: run.timeline.now(),
      timeline: run.timeline.events
    }
    state.result = result
    state.run = undefined
    for (const resolve of state.waiters.splice(0)) resolve(result)
    this.#onResult?.(this.results())
  }
}

function json (response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) })
  response.end(text)
}
