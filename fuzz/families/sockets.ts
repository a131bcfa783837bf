import { SUBPROTOCOL, BEARER_SUBPROTOCOL_PREFIX } from '../../protocol/index.ts'
import { couldCarryCredential } from '../../plugin/credential-shape.ts'
import type { CaseEnv } from '../family.ts'
import { checkHttpRefusal, checkServerStream, fail, type StreamSummary } from '../invariants.ts'
import { judgeToken } from '../oracle.ts'
import { ROUTES } from '../target.ts'
import { makeToken } from '../tokens.ts'
import { WireClient } from '../wire.ts'

/** A valid token of `subject` (and session), for the families that start authenticated. */
export function validToken (subject: string, sessionId: string | undefined, lifetimeSeconds = 60): string {
  return makeToken({ header: { alg: 'HS256', typ: 'JWT' }, claims: { sub: subject, sid: sessionId, exp: `rel:${lifetimeSeconds}` }, signing: 'key', edits: [] }, Date.now())
}

export function open (env: CaseEnv, path: string, headerLines: readonly string[]): WireClient {
  return new WireClient({ port: env.target.port, path, headerLines, timeoutMs: env.timeoutMs })
}

/**
 * Connects with a valid bearer token and waits for `authenticated`. With a token of a
 * second or less, a machine slower than its lifetime gets it refused `token_expired`: that
 * is the server right, and the case ends there (`undefined`).
 */
export async function authenticated (env: CaseEnv, subject: string, sessionId?: string, lifetimeSeconds?: number): Promise<WireClient>
export async function authenticated (env: CaseEnv, subject: string, sessionId: string | undefined, lifetimeSeconds: number, expiredOk: true): Promise<WireClient | undefined>
export async function authenticated (env: CaseEnv, subject: string, sessionId?: string, lifetimeSeconds?: number, expiredOk = false): Promise<WireClient | undefined> {
  const client = open(env, ROUTES.handshake, [`Sec-WebSocket-Protocol: ${SUBPROTOCOL}, ${BEARER_SUBPROTOCOL_PREFIX}${validToken(subject, sessionId, lifetimeSeconds)}`])
  const ok = await client.until(() => client.frames.length > 0 || (client.response !== undefined && client.response.status !== 101))
  const first = client.frames[0]
  if (expiredOk && ok && first !== undefined && first.payload.toString().includes('"code":"token_expired"')) {
    await settle(client)
    return undefined
  }
  if (!ok || client.response?.status !== 101 || first === undefined || !first.payload.toString().includes('"authenticated"')) {
    client.socket.destroy()
    fail('valid-token-accepted', `a valid token was not authenticated (status ${String(client.response?.status)}, ${first?.payload.toString().slice(0, 120) ?? 'no frame'})`)
  }
  return client
}

/** Settles the connection (ping round trip, then a client close) and checks all the server sent. */
export async function settle (client: WireClient, options: { finish?: boolean } = {}): Promise<StreamSummary> {
  if (!(await client.roundTrip())) {
    client.socket.destroy()
    fail('server-answers', 'no pong and no close within the timeout')
  }
  if (options.finish !== false && !(await client.finish())) fail('server-answers', 'the closing handshake did not complete within the timeout')
  client.socket.destroy()
  return checkServerStream(client.frames, client.clientClose)
}

/** The handshake's answer: a documented refusal, or a 101 that selects no credential. */
export function checkUpgradeAnswer (client: WireClient, offered: readonly string[]): void {
  const response = client.response
  if (response === undefined) fail('server-answers', 'no answer to the upgrade request')
  if (response.status !== 101) {
    checkHttpRefusal(response.status, response.headers, response.body)
    return
  }
  const selected = response.headers['sec-websocket-protocol']
  if (selected !== undefined) {
    if (couldCarryCredential(selected)) fail('no-credential-echo', 'the 101 selected an entry that could carry a credential')
    if (offered.includes(SUBPROTOCOL) && selected !== SUBPROTOCOL) fail('documented-refusal', `offered ${SUBPROTOCOL}, selected ${selected}`)
  }
}

/** `authenticated` was sent: one of `tokens` must be validly signed and current, for its subject. */
export function checkAccepted (summary: StreamSummary, tokens: readonly string[], sentAt: number, answeredAt: number): string | undefined {
  const frame = summary.frames.find((f) => f.type === 'authenticated')
  if (frame === undefined) return undefined
  const valid = tokens.map((token) => judgeToken(token, sentAt, answeredAt)).filter((v) => v.valid && v.subject === frame.subject)
  if (valid.length === 0) fail('only-valid-tokens', `authenticated ${String(frame.subject)} with no validly signed, current token among ${JSON.stringify(tokens)}`)
  return frame.subject as string
}

export function checkDeliveries (env: CaseEnv, subject: string): void {
  const delivery = env.target.deliveries.get(subject)
  env.target.deliveries.delete(subject)
  if (delivery !== undefined && delivery.reserved.length > 0) fail('no-reserved-frame-to-app', `the handler received ${JSON.stringify(delivery.reserved[0])}`)
}
