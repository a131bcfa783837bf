import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import fc from 'fast-check'
import { ERRORS, isErrorCode } from '../../protocol/index.ts'
import { createHandshakeHook, kHandshakeOutcome, kQueryCredential, type HandshakeOutcome } from '../../plugin/handshake.ts'
import type { RefusalMode } from '../../plugin/options.ts'
import { redactQueryCredential } from '../../plugin/query-credential.ts'
import { handshakeContext } from '../context.ts'
import { FIXED_NOW, type Family } from '../family.ts'
import { handshakePlanArbitrary, makeHandshake, type HandshakePlan } from '../headers.ts'
import { checkHttpRefusal, fail } from '../invariants.ts'
import { checkVerification } from './verifier.ts'

// ws parses Sec-WebSocket-Protocol itself once the hook lets the upgrade go on, and answers
// a header it cannot parse with a bare 400: a refusal without a documented code.
// (Its parser is not among ws's exports: loaded by path, from the ws the plugin runs on.)
const require = createRequire(import.meta.url)
const { parse: parseSubprotocols } = require(join(dirname(require.resolve('ws')), 'lib', 'subprotocol.js')) as { parse: (header: string) => Set<string> }

interface Input {
  readonly plan: HandshakePlan
  readonly refusal: RefusalMode
}

const trimOws = (value: string): string => value.replace(/^[ \t]+|[ \t]+$/g, '')

const REFUSAL_MODES: readonly RefusalMode[] = ['auto', 'status', 'close']
/** A row of the error table (credential_missing's message names the cookie; the rest is the table's). */
function isDocumented (error: { code?: unknown, status?: unknown, closeCode?: unknown, retry?: unknown }): boolean {
  if (!isErrorCode(error.code)) return false
  const row = ERRORS[error.code]
  return row.status === error.status && row.closeCode === error.closeCode && row.retry === error.retry
}

export function handshakeHookFamily (): Family<Input> {
  const contexts = new Map(REFUSAL_MODES.map((mode) => [mode, handshakeContext(mode)]))
  const hooks = new Map(REFUSAL_MODES.flatMap((mode) => [false, true].map((authFrame) =>
    [`${mode}:${String(authFrame)}`, createHandshakeHook({ authFrame, authorize: undefined }, contexts.get(mode) as ReturnType<typeof handshakeContext>)] as const)))
  const socket = { cork () {}, uncork () {} }
  const log = { info () {}, error () {}, warn () {}, debug () {}, trace () {}, fatal () {}, child () { return log } }
  return {
    name: 'handshake-hook',
    description: 'upgrade requests (subprotocol headers, cookies, queries, Origins, token shapes) through the plugin\'s onRequest hook, called directly with the request\'s fields, and ws\'s own parse of the header when the hook lets the upgrade go on',
    kind: 'in-process',
    weight: 25,
    concurrency: 1,
    arbitrary: () => fc.record({ plan: handshakePlanArbitrary('hook'), refusal: fc.constantFrom(...REFUSAL_MODES) }),
    run ({ plan, refusal }) {
      const made = makeHandshake(plan, FIXED_NOW)
      const url = `/ws${made.query === undefined ? '' : `?${made.query}`}`
      const headers: Record<string, string> = { upgrade: 'websocket', connection: 'Upgrade' }
      // As Node's parser gives them: each line without its leading and trailing SP and HTAB,
      // repeated lines joined with ", " (and cookies with "; ").
      if (made.protocolHeaders.length > 0) headers['sec-websocket-protocol'] = made.protocolHeaders.map(trimOws).join(', ')
      if (made.cookie !== undefined) headers.cookie = trimOws(made.cookie)
      if (made.origin !== undefined) headers.origin = made.origin
      const raw: Record<string | symbol, unknown> = { socket }
      // What the route's child-logger factory does before the hook (index.ts).
      if (redactQueryCredential(url) !== undefined) raw[kQueryCredential] = true
      const request = { ws: true, url, headers, raw, log, ip: '127.0.0.1', wsAuth: null, [kHandshakeOutcome]: null as HandshakeOutcome | null }
      let status: number | undefined
      let body: unknown
      const replyHeaders: Record<string, string> = {}
      const reply = {
        code (code: number) { status = code; return reply },
        header (name: string, value: string) { replyHeaders[name.toLowerCase()] = value; return reply },
        send (payload: unknown) { body = payload; return reply }
      }
      let proceeded = false
      const hook = hooks.get(`${refusal}:${String(plan.authFrameRoute)}`) as (...args: unknown[]) => void
      hook(request, reply, () => { proceeded = true })
      if (!proceeded) {
        if (status === undefined) fail('handshake-settles', 'the hook neither refused nor let the upgrade go on')
        checkHttpRefusal(status, replyHeaders, JSON.stringify(body))
        return
      }
      const outcome = request[kHandshakeOutcome]
      if (outcome === null) fail('handshake-settles', 'upgrade without an outcome')
      const header = headers['sec-websocket-protocol']
      if (header !== undefined) {
        try {
          parseSubprotocols(header)
        } catch {
          fail('documented-refusal', `the hook let through a Sec-WebSocket-Protocol that ws refuses with a bare 400: ${JSON.stringify(header.slice(0, 200))}`)
        }
      }
      if (outcome.refusal !== undefined) {
        if (!isDocumented(outcome.refusal)) fail('documented-refusal', `refusal by close with ${JSON.stringify(outcome.refusal)}`)
        return
      }
      if (outcome.credential === undefined) {
        if (!plan.authFrameRoute) fail('only-valid-tokens', 'upgraded without a credential on a route without auth frames')
        return
      }
      const accepted = made.tokens.filter((token) => { try { checkVerification(token, outcome.credential, FIXED_NOW, FIXED_NOW); return true } catch { return false } })
      if (accepted.length === 0) fail('only-valid-tokens', `accepted ${outcome.credential.subject} with none of the presented tokens valid: ${JSON.stringify(made.tokens)}`)
    }
  }
}
