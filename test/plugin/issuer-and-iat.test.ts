import t from 'tap'
import { SECRET, bearer, connect, nowSeconds, sign, startServer } from '../helpers.ts'

// Issue 14: SPEC §1/§3.3 said another issuer gives subject_mismatch, §8 listed
// token_issuer_invalid. The token is verified first (an issuer the server does not accept:
// token_issuer_invalid), then its identity is compared (another accepted issuer, or another
// iss where none is configured: subject_mismatch).
t.test('a renewal from another issuer: verification first, then identity', async (t) => {
  const s = await startServer(t, { plugin: { verify: { algorithms: ['HS256'], key: SECRET, issuer: ['https://a.example', 'https://b.example'] } } })
  const client = connect(s.url, bearer(sign({ iss: 'https://a.example' })))
  await client.frame('authenticated')
  client.send({ type: 'renew', token: sign({ iss: 'https://c.example', exp: nowSeconds() + 120 }), id: 'c' })
  t.match(await client.frame('auth_error'), { id: 'c', code: 'token_issuer_invalid', closing: false }, 'an issuer not accepted')
  client.send({ type: 'renew', token: sign({ iss: 'https://b.example', exp: nowSeconds() + 120 }), id: 'b' })
  t.match(await client.frame('auth_error', client.messages.length), { id: 'b', code: 'subject_mismatch', closing: false }, 'another accepted issuer')
  client.close()

  const open = await startServer(t)
  const unpinned = connect(open.url, bearer(sign({ iss: 'https://a.example' })))
  await unpinned.frame('authenticated')
  unpinned.send({ type: 'renew', token: sign({ iss: 'https://z.example', exp: nowSeconds() + 120 }), id: 'z' })
  t.match(await unpinned.frame('auth_error'), { id: 'z', code: 'subject_mismatch' }, 'no issuer configured: another iss is another identity')
  unpinned.close()
})

t.test('a token issued in the future is accepted, and counts as issued when it was verified', async (t) => {
  const s = await startServer(t)
  // An issuer's clock ahead of the server's: accepted (refusing would refuse every fresh
  // token of a drifting issuer under the default tolerance of 0).
  const client = connect(s.url, bearer(sign({ sub: 'future', iat: nowSeconds() + 3600 })))
  await client.frame('authenticated')
  t.equal(s.app.wsAuth.size, 1)
  // A revocation of everything the subject was issued before now covers it: its iat is
  // taken as no later than its verification.
  const closed = await s.app.wsAuth.revoke({ subject: 'future', issuedBefore: Date.now() + 1 })
  t.equal(closed, 1, 'revoke({ subject, issuedBefore: now }) closes it')
  if (closed === 1) t.same(await client.closed, { code: 4441, reason: 'credential_revoked' })
  client.close()
})
