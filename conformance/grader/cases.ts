import { readFileSync } from 'node:fs'
import { ERRORS, SUBPROTOCOL, isServerFrame, type ErrorCode } from '../../protocol/index.ts'
import type { GraderConnection } from './connection.ts'
import { offer } from './connection.ts'
import { ANSWER_MS, type ServerCaseDefinition, type ServerRun } from './server-run.ts'
import { claimsOf } from './tokens.ts'

/** Clock difference tolerated between the grader and the server, in ms (the grader assumes synchronised clocks). */
const SKEW_MS = 1000
/** A message sent just before the deadline may be stamped this long after it (the grader's own event loop may lag). */
const IN_FLIGHT_MS = 250
const MAX_TOLERANCE_MS = 300_000

function vectors<T> (name: string): T[] {
  return (JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as { vectors: T[] }).vectors
}

/** The deadline a token gives (SPEC §6 rule 1, without the server's tolerance). */
const deadlineOf = (token: string): number => Math.floor(Number(claimsOf(token).exp) * 1000)

/** Checks the deadline fields of a server frame against the token's exp and the grader's clock. */
function expectDeadline (run: ServerRun, frame: Record<string, unknown> & { at: number }, token: string, what: string): void {
  const expiresAt = frame.expiresAt as number
  const expiresIn = frame.expiresIn as number
  const deadline = deadlineOf(token)
  run.expect(expiresAt >= deadline && expiresAt <= deadline + MAX_TOLERANCE_MS, `SPEC §6 rule 1: ${what} expiresAt ${expiresAt} is not the token's deadline ${deadline} (plus at most 300 s of tolerance)`)
  run.expect(Math.abs(expiresAt - frame.at - expiresIn) <= SKEW_MS, `SPEC §1: ${what} expiresIn ${expiresIn} disagrees with expiresAt (${expiresAt - frame.at} ms from receipt)`)
}

/**
 * Whether `connection` was refused with `code` in one of the two forms of SPEC §3.1: the
 * HTTP status with a JSON body naming the code, or an upgrade followed by auth_error
 * (closing: true) and the code's close code, with no authenticated before.
 */
async function expectRefusal (run: ServerRun, connection: GraderConnection, code: ErrorCode, what: string, statusOnly = false): Promise<void> {
  await run.until(() => connection.closed !== undefined, ANSWER_MS * 2)
  const { status, closeCode } = ERRORS[code]
  if (connection.refused !== undefined) {
    run.expect(connection.refused.status === status && connection.refused.body?.code === code,
      `SPEC §3.1 and §8: ${what}: refused with ${connection.refused.status} ${String(connection.refused.body?.code)}, expected ${status} ${code}`)
    return
  }
  if (!run.expect(!statusOnly, `SPEC §3.1: ${what}: upgraded, where ${code} is always refused by HTTP status ${status}`)) return
  const error = connection.frames('auth_error')[0]
  run.expect(connection.frames('authenticated').length === 0, `SPEC §3.1: ${what}: authenticated on a refused handshake`)
  run.expect(error?.code === code && error.closing === true, `SPEC §3.1: ${what}: no auth_error ${code} (closing: true) before the close`)
  run.expect(connection.closed?.code === closeCode && connection.closed.reason === code, `SPEC §7: ${what}: closed with ${connection.closed?.code} "${connection.closed?.reason}", expected ${closeCode} "${code}"`)
}

async function expectAuthError (run: ServerRun, connection: GraderConnection, index: number, code: ErrorCode | undefined, id: string, what: string): Promise<Record<string, unknown> | undefined> {
  await run.until(() => connection.frames('auth_error').length > index || connection.closed !== undefined, ANSWER_MS)
  const error = connection.frames('auth_error')[index]
  if (error === undefined) return run.fail(`${what}: no auth_error`)
  if (code !== undefined) run.expect(error.code === code, `${what}: auth_error ${String(error.code)}, expected ${code}`)
  run.expect(error.id === id, `SPEC §4: ${what}: the auth_error does not carry the renew's id`)
  return error
}

async function expectExpiry (run: ServerRun, connection: GraderConnection, expiresAt: number, what: string): Promise<void> {
  await run.until(() => connection.closed !== undefined, Math.max(0, expiresAt - Date.now()) + ANSWER_MS)
  const closed = connection.closed
  if (closed === undefined) return run.fail(`SPEC §5 flow 4: ${what}: still open ${ANSWER_MS} ms after the deadline`)
  run.expect(closed.at >= expiresAt - IN_FLIGHT_MS, `SPEC §6 rule 1: ${what}: closed ${expiresAt - closed.at} ms before the deadline`)
  run.expect(closed.at <= expiresAt + 1000, `SPEC §5 flow 4: ${what}: closed ${closed.at - expiresAt} ms after the deadline (more than 1000)`)
  const error = connection.frames('auth_error').at(-1)
  run.expect(error?.code === 'credential_expired' && error.closing === true, `SPEC §5 flow 4: ${what}: no auth_error credential_expired (closing: true) before the close`)
  run.expect(closed.code === ERRORS.credential_expired.closeCode && closed.reason === 'credential_expired', `SPEC §7: ${what}: closed with ${closed.code} "${closed.reason}", expected 4440 "credential_expired"`)
  const late = connection.applicationMessages.filter((m) => m.at > expiresAt + IN_FLIGHT_MS)
  run.expect(late.length === 0, `SPEC §5 flow 4: ${what}: ${late.length} application messages delivered after the deadline (the last ${late.length === 0 ? 0 : (late.at(-1)?.at ?? 0) - expiresAt} ms after it)`)
  if (connection.applicationMessages.length === 0) run.note('the server sent no application message: delivery after the deadline could not be observed')
}

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

export const SERVER_CASES: readonly ServerCaseDefinition[] = Object.freeze([
  {
    id: 'S2.1.1',
    section: '2. Transports',
    title: 'Accepted with the subprotocol; authenticated fields',
    rule: `The 101 selects ${SUBPROTOCOL}; the first frame is a valid authenticated whose subject is the token's sub, sessionId its sid (if any), expiresAt its deadline (plus at most 300 s of tolerance) and expiresIn agrees with expiresAt (±${SKEW_MS} ms).`,
    async run (run) {
      const token = await run.tokens.token()
      const { connection, frame } = await run.authenticated(token)
      run.expect(connection.protocol === SUBPROTOCOL, `SPEC §2.1: the 101 selected ${JSON.stringify(connection.protocol)}, not ${SUBPROTOCOL}`)
      run.expect(connection.received[0]?.frame?.type === 'authenticated', 'SPEC §3.2: the first message is not authenticated')
      const { at: _at, ...body } = frame
      run.expect(isServerFrame(body), 'SPEC §4: the authenticated frame does not match its schema')
      const claims = claimsOf(token)
      run.expect(frame.subject === claims.sub, `SPEC §4: subject ${String(frame.subject)} is not the token's sub`)
      run.expect(frame.sessionId === claims.sid, `SPEC §4: sessionId ${String(frame.sessionId)} is not the token's sid`)
      expectDeadline(run, frame, token, 'authenticated')
    }
  },
  {
    id: 'S2.1.2',
    section: '2. Transports',
    title: 'The bearer entry is never selected, whatever the order',
    rule: `Offered "wsauth.bearer.<token>, ${SUBPROTOCOL}" (bearer first), the 101 selects ${SUBPROTOCOL}: the token is never echoed.`,
    async run (run) {
      const token = await run.tokens.token()
      const connection = await run.connect([...offer(token)].reverse())
      run.expect(connection.protocol !== undefined && !connection.protocol.includes(token.slice(0, 20)), 'SPEC §2.1 and PITFALLS: the 101 echoed the bearer entry (the token)')
      run.expect(connection.protocol === SUBPROTOCOL, `SPEC §2.1: the 101 selected ${JSON.stringify(connection.protocol)}, not ${SUBPROTOCOL}`)
    }
  },
  {
    id: 'S2.1.3',
    section: '2. Transports',
    title: 'Malformed Sec-WebSocket-Protocol values are refused',
    rule: 'Each header value of conformance/vectors/subprotocol.json that expects an error is refused with that error (by HTTP status and JSON body, or by auth_error and close code, SPEC §3.1).',
    async run (run) {
      for (const vector of vectors<{ name: string, header: string, expected: { error?: ErrorCode } }>('subprotocol.json')) {
        if (vector.expected.error === undefined) continue
        const connection = await run.connect(vector.header.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '').length === 0 ? [] : [vector.header])
        await expectRefusal(run, connection, vector.expected.error, vector.name)
      }
    }
  },
  {
    id: 'S2.4.1',
    section: '2.4 Never the URL query',
    title: 'A credential in the URL query is refused; harmless queries are not',
    rule: 'Each query of conformance/vectors/query.json that counts as a credential is refused with HTTP 400 credential_in_query (never upgraded), even with a valid token in the subprotocol; no harmless query is refused with credential_in_query.',
    async run (run) {
      const token = await run.tokens.token()
      const target = new URL(run.url)
      for (const vector of vectors<{ name: string, url: string, expected: { credential: boolean } }>('query.json')) {
        const query = vector.url.includes('?') ? vector.url.slice(vector.url.indexOf('?') + 1) : ''
        const url = `${target.origin.replace(/^http/, 'ws')}${target.pathname}${vector.url.includes('?') ? `?${query}` : ''}`
        const connection = await run.connect(offer(token), { url })
        if (vector.expected.credential) {
          await expectRefusal(run, connection, 'credential_in_query', vector.name, true)
        } else {
          run.expect(connection.refused?.body?.code !== 'credential_in_query', `SPEC §2.4: ${vector.name}: a harmless query refused with credential_in_query`)
          connection.close()
        }
      }
    }
  },
  {
    id: 'S3.1',
    section: '3. The handshake',
    title: 'Refused tokens, told by status or by close',
    rule: 'No credential: credential_missing (or, on a route that accepts auth frames, an upgrade without authenticated). An expired token: token_expired; another key\'s signature: token_signature_invalid; alg none: token_algorithm_not_allowed. Each refused as SPEC §3.1 says, never authenticated.',
    needs: ['key'],
    async run (run) {
      const none = await run.connect([SUBPROTOCOL])
      await run.until(() => none.closed !== undefined || none.received.length > 0, ANSWER_MS)
      if (none.refused !== undefined || none.frames('auth_error').length > 0) await expectRefusal(run, none, 'credential_missing', 'no credential')
      else run.expect(none.frames('authenticated').length === 0, 'SPEC §2.3: authenticated without any credential')
      none.close()
      const expired = await run.tokens.signed({ lifetimeMs: -5000 })
      await expectRefusal(run, await run.connect(offer(expired)), 'token_expired', 'an expired token')
      const forged = await run.tokens.signed({ lifetimeMs: 60_000, key: 'not-the-servers-key-but-32-bytes-long!!' })
      await expectRefusal(run, await run.connect(offer(forged)), 'token_signature_invalid', 'a token signed with another key')
      const valid = await run.tokens.signed({ lifetimeMs: 60_000 })
      const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${valid.split('.')[1] as string}.`
      await expectRefusal(run, await run.connect(offer(unsigned)), 'token_algorithm_not_allowed', 'an alg none token')
    }
  },
  {
    id: 'S4.1',
    section: '4. Frames',
    title: 'Malformed and misplaced client frames are refused, the connection stays',
    rule: 'On an authenticated connection, a renew without token and an auth frame are each answered by auth_error frame_invalid with closing: false (and the renew\'s id); the connection stays open.',
    async run (run) {
      const { connection } = await run.authenticated(await run.tokens.token())
      connection.send({ type: 'renew', id: 'g1' })
      await expectAuthError(run, connection, 0, 'frame_invalid', 'g1', 'SPEC §5 flow 3: a renew without token')
      connection.send({ type: 'auth', token: 'x' })
      await run.until(() => connection.frames('auth_error').length > 1, ANSWER_MS)
      run.expect(connection.frames('auth_error')[1]?.code === 'frame_invalid', 'SPEC §5 flow 3: an auth frame on an authenticated connection is not refused with frame_invalid')
      run.expect(connection.frames('auth_error').every((e) => e.closing === false), 'SPEC §5 flow 3: a refused frame closed the connection')
      await run.sleep(200)
      run.expect(connection.open, 'SPEC §5 flow 3: the connection closed after two refused frames')
    }
  },
  {
    id: 'S5.2.1',
    section: '5. Lifecycle (flow 2)',
    title: 'Renewal moves the deadline',
    rule: 'A renew with a token of the same identity and a later deadline is answered within 2000 ms by renewed with the renew\'s id and the new deadline; the connection outlives the old deadline.',
    needs: ['key'],
    async run (run) {
      const first = await run.tokens.signed({ lifetimeMs: 3000 })
      const { connection, frame } = await run.authenticated(first)
      const next = await run.tokens.signed({ lifetimeMs: 20_000 })
      connection.send({ type: 'renew', token: next, id: 'g1' })
      await run.until(() => connection.frames('renewed').length > 0 || connection.closed !== undefined, ANSWER_MS)
      const renewed = connection.frames('renewed')[0]
      if (renewed === undefined) return run.fail('SPEC §5 flow 2: no renewed')
      run.expect(renewed.id === 'g1', 'SPEC §4: renewed does not carry the renew\'s id')
      expectDeadline(run, renewed, next, 'renewed')
      await run.sleep(Math.max(0, (frame.expiresAt as number) - Date.now() + 300))
      run.expect(connection.open, 'SPEC §5 flow 2: the connection closed at the old deadline after a renewal')
    }
  },
  {
    id: 'S5.3.1',
    section: '5. Lifecycle (flow 3)',
    title: 'Refused renewals keep identity and deadline',
    rule: 'A renew for another subject is refused with subject_mismatch, one with an earlier deadline with token_stale (both closing: false, with the id); one with the same deadline is answered by renewed with the same expiresAt; the connection then closes at the original deadline with 4440.',
    needs: ['key'],
    async run (run) {
      const first = await run.tokens.signed({ lifetimeMs: 3000 })
      const { connection, frame } = await run.authenticated(first)
      connection.send({ type: 'renew', token: await run.tokens.signed({ lifetimeMs: 20_000, claims: { sub: 'conformance-someone-else' } }), id: 'g1' })
      const mismatch = await expectAuthError(run, connection, 0, 'subject_mismatch', 'g1', 'SPEC §1: a renewal for another subject')
      run.expect(mismatch?.closing === false, 'SPEC §5 flow 3: a refused renewal closed the connection')
      connection.send({ type: 'renew', token: await run.tokens.signed({ lifetimeMs: 1000 }), id: 'g2' })
      await expectAuthError(run, connection, 1, 'token_stale', 'g2', 'SPEC §6 rule 4: a renewal with an earlier deadline')
      const same = await run.tokens.signed({ lifetimeMs: 0, claims: { exp: claimsOf(first).exp } })
      connection.send({ type: 'renew', token: same, id: 'g3' })
      await run.until(() => connection.frames('renewed').length > 0 || connection.closed !== undefined, ANSWER_MS)
      run.expect(connection.frames('renewed')[0]?.expiresAt === frame.expiresAt, 'SPEC §6 rule 4: a renewal with the same deadline is not answered by renewed with the same expiresAt')
      await expectExpiry(run, connection, frame.expiresAt as number, 'after refused renewals')
    }
  },
  {
    id: 'S5.4.1',
    section: '5. Lifecycle (flow 4)',
    title: 'Expiry: closed at the deadline, nothing delivered after it',
    rule: `A 2000 ms token not renewed: auth_error credential_expired (closing: true), then close 4440 "credential_expired", no earlier than the deadline and at most 1000 ms after it; no application message arrives more than ${IN_FLIGHT_MS} ms after the deadline.`,
    needs: ['key'],
    async run (run) {
      const { connection, frame } = await run.authenticated(await run.tokens.signed({ lifetimeMs: 2000 }))
      await expectExpiry(run, connection, frame.expiresAt as number, 'expiry')
    }
  },
  {
    id: 'S6.2.1',
    section: '6. Timing rules',
    title: 'renew_required, once, before the deadline',
    rule: `With a 3000 ms token, renew_required arrives before the deadline, once, with the deadline of authenticated and an expiresIn that agrees with it (±${SKEW_MS} ms).`,
    needs: ['key'],
    async run (run) {
      const token = await run.tokens.signed({ lifetimeMs: 3000 })
      const { connection, frame } = await run.authenticated(token)
      await run.until(() => connection.closed !== undefined, 3000 + ANSWER_MS)
      const required = connection.frames('renew_required')
      if (required.length === 0) return run.fail('SPEC §6 rule 2: no renew_required before the deadline')
      run.expect(required.length === 1, `SPEC §6 rule 2: ${required.length} renew_required for one credential`)
      const first = required[0] as Record<string, unknown> & { at: number }
      run.expect(first.at < (frame.expiresAt as number), 'SPEC §6 rule 2: renew_required after the deadline')
      run.expect(first.expiresAt === frame.expiresAt, 'SPEC §4: renew_required expiresAt is not the connection\'s deadline')
      expectDeadline(run, first, token, 'renew_required')
    }
  },
  {
    id: 'S10.1',
    section: '10. Limits',
    title: 'Refused renewals in a row close with 4429',
    rule: 'Malformed-token renewals are each refused (closing: false) until, after at most 10, auth_error renewal_attempts_exceeded (closing: true) and close 4429 follow.',
    async run (run) {
      const { connection } = await run.authenticated(await run.tokens.token())
      for (let i = 1; i <= 10 && connection.open; i++) {
        connection.send({ type: 'renew', token: 'not.a.token', id: `g${i}` })
        await run.until(() => connection.frames('auth_error').length >= i || connection.closed !== undefined, ANSWER_MS)
        if (connection.frames('auth_error').at(-1)?.closing === true) break
      }
      await run.until(() => connection.closed !== undefined, ANSWER_MS)
      const last = connection.frames('auth_error').at(-1)
      run.expect(last?.code === 'renewal_attempts_exceeded' && last.closing === true, 'SPEC §5 flow 3: no auth_error renewal_attempts_exceeded (closing: true) after 10 refused renewals')
      run.expect(connection.closed?.code === ERRORS.renewal_attempts_exceeded.closeCode, `SPEC §7: closed with ${String(connection.closed?.code)}, expected 4429`)
    }
  },
  {
    id: 'S12.1',
    section: '12. Revocation',
    title: 'Revocation closes at once and refuses the token after',
    rule: 'Revoking the session (the --logout trigger) closes its connection within 1000 ms with auth_error credential_revoked (closing: true) and 4441; the same token is then refused with credential_revoked.',
    needs: ['revoke'],
    last: true,
    async run (run) {
      const token = await run.tokens.token()
      const { connection } = await run.authenticated(token)
      const status = await run.tokens.revoke(token)
      const revokedAt = Date.now()
      run.note(`the revocation trigger answered ${status}`)
      await run.until(() => connection.closed !== undefined, 1000)
      const error = connection.frames('auth_error').at(-1)
      run.expect(error?.code === 'credential_revoked' && error.closing === true, 'SPEC §5 flow 5: no auth_error credential_revoked (closing: true)')
      run.expect(connection.closed !== undefined && connection.closed.code === 4441 && connection.closed.at - revokedAt <= 1000, `SPEC §12: not closed with 4441 within 1000 ms of the revocation (${String(connection.closed?.code)})`)
      await expectRefusal(run, await run.connect(offer(token)), 'credential_revoked', 'the revoked token')
    }
  }
])
