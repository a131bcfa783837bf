import { parseCookie } from 'cookie'
import fc from 'fast-check'
import t from 'tap'
import { ERRORS } from '../../protocol/index.ts'
import { CookieCredential, tokenFromSubprotocols } from '../../plugin/credential.ts'
import { OriginPolicy, normaliseOrigin } from '../../plugin/origin.ts'
import { redactQueryCredential } from '../../plugin/query-credential.ts'

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.sig_-x'

t.test('subprotocol credential', async (t) => {
  const cases: Array<[string, string | undefined, unknown]> = [
    ['no header', undefined, undefined],
    ['no bearer entry', 'wsauth.v1', undefined],
    ['other protocols only', 'chat, superchat', undefined],
    ['version then bearer', `wsauth.v1, wsauth.bearer.${JWT}`, JWT],
    ['bearer then version', `wsauth.bearer.${JWT}, wsauth.v1`, JWT],
    ['no spaces', `wsauth.v1,wsauth.bearer.${JWT}`, JWT],
    ['with an app protocol', `chat, wsauth.v1, wsauth.bearer.${JWT}`, JWT],
    ['bearer without version', `wsauth.bearer.${JWT}`, ERRORS.subprotocol_invalid],
    ['two different bearers', `wsauth.v1, wsauth.bearer.${JWT}, wsauth.bearer.a.b.c`, ERRORS.credential_ambiguous],
    ['the same bearer twice', `wsauth.v1, wsauth.bearer.${JWT}, wsauth.bearer.${JWT}`, ERRORS.credential_ambiguous],
    ['version twice', `wsauth.v1, wsauth.v1, wsauth.bearer.${JWT}`, ERRORS.subprotocol_invalid],
    ['duplicate app protocol', `chat, chat, wsauth.v1, wsauth.bearer.${JWT}`, ERRORS.subprotocol_invalid],
    ['illegal character in token', `wsauth.v1, wsauth.bearer.${JWT}"`, ERRORS.subprotocol_invalid],
    ['space inside an entry', 'wsauth.v1, wsauth.bearer.a b.c', ERRORS.subprotocol_invalid],
    ['empty entry', `wsauth.v1, , wsauth.bearer.${JWT}`, ERRORS.subprotocol_invalid],
    ['empty token', 'wsauth.v1, wsauth.bearer.', ERRORS.token_malformed],
    ['oversized token', `wsauth.v1, wsauth.bearer.${'a'.repeat(101)}`, ERRORS.token_too_large],
    ['tabs as whitespace', `\twsauth.v1 ,\twsauth.bearer.${JWT}\t`, JWT],
    ['trailing comma', `wsauth.v1, wsauth.bearer.${JWT},`, ERRORS.subprotocol_invalid],
    ['leading comma', `,wsauth.v1, wsauth.bearer.${JWT}`, ERRORS.subprotocol_invalid],
    ['a no-break space is not whitespace here', `\u00a0wsauth.v1, wsauth.bearer.${JWT}`, ERRORS.subprotocol_invalid],
    ['non-ASCII in an entry', `wsauth.v1, wsauth.bearer.${JWT}é`, ERRORS.subprotocol_invalid],
    ['the prefix inside another entry', 'wsauth.v1, x-wsauth.bearer.abc', ERRORS.subprotocol_invalid],
    // Issue 14 item 5: a credential in another spelling is refused, never taken for "no credential".
    ['the prefix in upper case', `WSAUTH.BEARER.${JWT}`, ERRORS.subprotocol_invalid],
    ['the prefix in mixed case, with the version', `wsauth.v1, Wsauth.Bearer.${JWT}`, ERRORS.subprotocol_invalid],
    ['a case variant beside a bearer entry', `wsauth.v1, wsauth.bearer.${JWT}, WSAUTH.BEARER.${JWT}`, ERRORS.subprotocol_invalid],
    ['a bare JWT as an entry', `wsauth.v1, ${JWT}`, ERRORS.subprotocol_invalid],
    ['a JWT inside an app entry, beside a bearer entry', `wsauth.v1, wsauth.bearer.${JWT}, access_token.${JWT}`, ERRORS.subprotocol_invalid],
    ['an upper-case version is just another entry', 'WSAUTH.V1, chat', undefined],
    ['the prefix without its dot is no bearer entry', 'wsauth.v1, wsauth.bearer', undefined],
    ['duplicate with different whitespace', `chat,\tchat , wsauth.v1, wsauth.bearer.${JWT}`, ERRORS.subprotocol_invalid],
    // Found by fuzz/ (family handshake-hook): without a bearer entry, a header ws cannot parse
    // went on to ws, which refused it with a bare 400 naming no error code.
    ['no bearer entry: the version twice', 'wsauth.v1, wsauth.v1', ERRORS.subprotocol_invalid],
    ['no bearer entry: an app protocol twice', 'chat, chat', ERRORS.subprotocol_invalid],
    ['no bearer entry: an empty entry', 'wsauth.v1,,chat', ERRORS.subprotocol_invalid],
    ['no bearer entry: a trailing comma', 'chat,', ERRORS.subprotocol_invalid],
    ['no bearer entry: a space inside an entry', 'a b', ERRORS.subprotocol_invalid],
    ['no bearer entry: an illegal character', 'chat/1', ERRORS.subprotocol_invalid],
    ['an empty header', '', ERRORS.subprotocol_invalid]
  ]
  for (const [name, header, expected] of cases) t.equal(tokenFromSubprotocols(header, 100), expected, name)
})

// The reading before it became one pass by index (split, trim, a regular expression per
// entry), kept as the oracle: on headers of ASCII with SP and HTAB as whitespace both agree.
function referenceTokenFromSubprotocols (header: string | undefined, maxTokenLength: number): unknown {
  const misplaced = (text: string): boolean => /wsauth\.bearer\./i.test(text) || /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./.test(text)
  if (header === undefined) return undefined
  const entries = header.split(',').map((entry) => entry.replace(/^[ \t]+|[ \t]+$/g, ''))
  if (!header.includes('wsauth.bearer.')) {
    const wellFormed = entries.every((entry) => /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(entry)) && new Set(entries).size === entries.length
    return misplaced(header) || !wellFormed ? ERRORS.subprotocol_invalid : undefined
  }
  let token: string | undefined
  let offersVersion = false
  for (const entry of entries) {
    if (entry.startsWith('wsauth.bearer.')) {
      if (token !== undefined) return ERRORS.credential_ambiguous
      token = entry.slice('wsauth.bearer.'.length)
      if (token.length > maxTokenLength) return ERRORS.token_too_large
    } else if (entry === 'wsauth.v1') {
      if (offersVersion) return ERRORS.subprotocol_invalid
      offersVersion = true
    } else if (misplaced(entry)) {
      return ERRORS.subprotocol_invalid
    }
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(entry)) return ERRORS.subprotocol_invalid
  }
  if (new Set(entries).size !== entries.length) return ERRORS.subprotocol_invalid
  if (!offersVersion) return ERRORS.subprotocol_invalid
  if (token === undefined || token.length === 0) return ERRORS.token_malformed
  return token
}

t.test('subprotocol credential agrees with the reference reading', async (t) => {
  const piece = fc.constantFrom('wsauth.v1', 'wsauth.bearer.', 'wsauth.bearer.a.b.c', `wsauth.bearer.${JWT}`, 'chat', 'x', '', ' ', '\t', '"', 'wsauth.bearer', 'é', 'WSAUTH.BEARER.', JWT)
  const header = fc.array(fc.array(piece, { maxLength: 3 }).map((parts) => parts.join('')), { minLength: 1, maxLength: 5 }).map((entries) => entries.join(','))
  fc.assert(fc.property(header, (h) => tokenFromSubprotocols(h, 40) === referenceTokenFromSubprotocols(h, 40)), { seed: 20261125, numRuns: 5000 })
  t.pass('5,000 generated headers')
})

t.test('cookie credential', async (t) => {
  const cookie = new CookieCredential('access_token', parseCookie)
  t.equal(cookie.read(undefined, 100), undefined, 'no header')
  t.equal(cookie.read('theme=dark', 100), undefined, 'other cookies')
  t.equal(cookie.read(`theme=dark; access_token=${JWT}`, 100), JWT, 'among others')
  t.equal(cookie.read(`access_token=${JWT}`, 100), JWT, 'alone')
  t.equal(cookie.read('my_access_token=x', 100), undefined, 'a cookie whose name ends with ours')
  t.equal(cookie.read(`access_token=${JWT}; access_token=other`, 100), ERRORS.credential_ambiguous, 'two of the same name')
  t.equal(cookie.read(`access_token=${'a'.repeat(101)}`, 100), ERRORS.token_too_large, 'oversized')
  t.equal(cookie.read('access_token=', 100), undefined, 'empty value')
})

t.test('query credential redaction', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['/ws', undefined],
    ['/ws?room=1', undefined],
    ['/ws?token=abc', '/ws?token=[redacted]'],
    ['/ws?room=1&access_token=abc', '/ws?room=1&access_token=[redacted]'],
    ['/ws?Authorization=Bearer%20x', '/ws?Authorization=[redacted]'],
    [`/ws?x=${JWT}`, '/ws?x=[redacted]'],
    [`/ws?${JWT}`, '/ws?[redacted]'],
    ['/ws?jwt', '/ws?jwt=[redacted]'],
    ['/ws?bad=%E0%A4%A', undefined]
  ]
  for (const [url, expected] of cases) t.equal(redactQueryCredential(url), expected, url)
})

t.test('origin allowlist', async (t) => {
  const policy = new OriginPolicy(['https://app.example.com', 'http://127.0.0.1:3000'])
  t.ok(policy.allows('https://app.example.com'))
  t.ok(policy.allows('HTTPS://APP.EXAMPLE.COM'), 'case-insensitive like URL origins')
  t.ok(policy.allows('http://127.0.0.1:3000'))
  const refused = [undefined, 'null', 'https://app.example.com.evil.com', 'https://evil-app.example.com', 'http://app.example.com',
    'https://app.example.com:444', 'http://127.0.0.1:3001', 'http://127.0.0.2:3000', 'https://app.example.com/', '']
  for (const origin of refused) t.notOk(policy.allows(origin), `refuses ${String(origin)}`)
  t.equal(normaliseOrigin('https://App.Example.com'), 'https://app.example.com')
  t.equal(normaliseOrigin('https://app.example.com:443'), 'https://app.example.com', 'default port folded')
  for (const bad of ['null', 'app.example.com', 'https://app.example.com/path', 'https://app.example.com/', 'ftp://x.y', 'https://u:p@x.y', 'https://x.y?q']) {
    t.throws(() => normaliseOrigin(bad), TypeError, `rejects ${bad}`)
  }
})
