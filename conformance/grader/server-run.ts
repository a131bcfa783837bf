import type { CaseResult } from '../server/case-run.ts'
import { CaseFailed, RecordedRun } from '../server/recorded-run.ts'
import { GraderConnection, offer } from './connection.ts'
import type { TokenSource } from './tokens.ts'

/** What a server case needs beyond a URL and a way to get tokens. */
export type ServerNeed = 'key' | 'revoke'

export interface ServerCaseDefinition {
  id: string
  section: string
  title: string
  rule: string
  needs?: ServerNeed[]
  /** Runs after every other case (it changes the server's state, e.g. revokes the session). */
  last?: boolean
  run (run: ServerRun): Promise<void>
}

/** How long the grader waits for the server's answer to one step. */
export const ANSWER_MS = 2000

/** One run of one server case: its connections, its timeline, its failures. */
export class ServerRun extends RecordedRun {
  readonly url: string
  readonly tokens: TokenSource
  readonly connections: GraderConnection[] = []

  constructor (url: string, tokens: TokenSource) {
    super()
    this.url = url
    this.tokens = tokens
  }

  /** Opens a connection offering `protocols` and waits for the 101 or the refusal. */
  async connect (protocols: string[], options: { url?: string, headers?: Record<string, string> } = {}): Promise<GraderConnection> {
    const connection = new GraderConnection(options.url ?? this.url, protocols, this.timeline, () => { this.changed() }, options.headers)
    this.connections.push(connection)
    await this.until(() => connection.open || connection.closed !== undefined, ANSWER_MS * 2)
    return connection
  }

  /** Connects with the subprotocol transport and waits for `authenticated`; fails the case otherwise. */
  async authenticated (token: string, why = 'SPEC §3.2'): Promise<{ connection: GraderConnection, frame: Record<string, unknown> & { at: number } }> {
    const connection = await this.connect(offer(token))
    await this.until(() => connection.frames('authenticated').length > 0 || connection.closed !== undefined, ANSWER_MS)
    const frame = connection.frames('authenticated')[0]
    if (frame === undefined) return this.fail(`${why}: no authenticated frame after the handshake${connection.refused === undefined ? '' : ` (refused with ${connection.refused.status} ${String(connection.refused.body?.code)})`}`)
    return { connection, frame }
  }

  finish (): void {
    for (const connection of this.connections) connection.socket.terminate()
  }
}

/** Runs `cases` against the server (independent cases at once, then the `last` ones). */
export async function gradeServer (url: string, tokens: TokenSource, cases: readonly ServerCaseDefinition[]): Promise<CaseResult[]> {
  const runOne = async (definition: ServerCaseDefinition): Promise<CaseResult> => {
    const base = { id: definition.id, section: definition.section, title: definition.title, rule: definition.rule }
    const missing = (definition.needs ?? []).filter((need) => (need === 'key' && !tokens.canSign) || (need === 'revoke' && !tokens.canRevoke))
    if (missing.length > 0) return { ...base, status: 'not run', reasons: [`needs ${missing.map((need) => need === 'key' ? '--key' : '--logout').join(' and ')}`], durationMs: 0, timeline: [] }
    const run = new ServerRun(url, tokens)
    try {
      await definition.run(run)
    } catch (error) {
      if (!(error instanceof CaseFailed)) run.violation(`the grader failed: ${error instanceof Error ? error.message : String(error)}`)
    }
    run.finish()
    return { ...base, status: run.failures.length === 0 ? 'pass' : 'fail', reasons: run.failures, durationMs: run.timeline.now(), timeline: run.timeline.events }
  }
  const first = await Promise.all(cases.filter((c) => c.last !== true).map(runOne))
  const last: CaseResult[] = []
  for (const definition of cases.filter((c) => c.last === true)) last.push(await runOne(definition))
  const results = [...first, ...last]
  return cases.map((c) => results.find((r) => r.id === c.id) as CaseResult)
}
