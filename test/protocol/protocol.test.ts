import t from 'tap'
import {
  CLOSE_CODES, CloseCode, ERRORS, ERROR_CODES, FRAMES, FrameType, MAX_TOKEN_LENGTH,
  closePolicy, isAuthFrame, isErrorCode, isProtocolCloseCode, isRenewFrame, isServerFrame, reservedTypeOf
} from '../../protocol/index.ts'

t.test('close policies', async (t) => {
  const expected: Array<[number, string]> = [
    [CloseCode.BadRequest, 'stop'],
    [CloseCode.Unauthorized, 'reauthenticate'],
    [CloseCode.Forbidden, 'stop'],
    [CloseCode.Timeout, 'reconnect'],
    [CloseCode.Superseded, 'stop'],
    [CloseCode.SlowConsumer, 'reconnect'],
    [CloseCode.TooManyRequests, 'reconnect'],
    [CloseCode.CredentialExpired, 'reauthenticate'],
    [CloseCode.CredentialRevoked, 'stop'],
    [CloseCode.InternalError, 'reconnect'],
    [CloseCode.ServiceUnavailable, 'reconnect'],
    [1000, 'stop'],
    [1001, 'reconnect'],
    [1006, 'reconnect'],
    [1008, 'stop'],
    [1009, 'stop'],
    [1011, 'reconnect'],
    [4999, 'reconnect'],
    [3000, 'reconnect']
  ]
  for (const [code, policy] of expected) t.equal(closePolicy(code), policy, `close code ${code}`)
  // An auth_error's retry: false turns a reauthenticate close into stop, and nothing else.
  t.equal(closePolicy(CloseCode.Unauthorized, false), 'stop', '4401 after retry: false')
  t.equal(closePolicy(CloseCode.CredentialExpired, false), 'stop', '4440 after retry: false')
  t.equal(closePolicy(CloseCode.Unauthorized, true), 'reauthenticate')
  t.equal(closePolicy(CloseCode.TooManyRequests, false), 'reconnect', 'a reconnect code keeps its policy')
  t.equal(closePolicy(CloseCode.Forbidden, true), 'stop')
  t.same([...CLOSE_CODES], [4400, 4401, 4403, 4408, 4409, 4413, 4429, 4440, 4441, 4500, 4503])
  t.ok(isProtocolCloseCode(4440))
  t.notOk(isProtocolCloseCode(1000))
  t.notOk(isProtocolCloseCode(4402))
})

t.test('error table is complete and consistent', async (t) => {
  t.same(Object.keys(ERRORS).sort(), [...ERROR_CODES].sort())
  for (const code of ERROR_CODES) {
    const error = ERRORS[code]
    t.equal(error.code, code)
    t.match(code, /^[a-z]+(?:_[a-z]+)*$/, `${code} is snake_case`)
    t.ok(CLOSE_CODES.includes(error.closeCode), `${code} closes with a protocol close code`)
    t.ok(error.status >= 400 && error.status < 600, `${code} has an HTTP error status`)
    t.ok(Object.isFrozen(error), `${code} is immutable`)
  }
  t.ok(isErrorCode('token_expired'))
  t.notOk(isErrorCode('toString'))
  t.notOk(isErrorCode(42))
})

t.test('frame validators', async (t) => {
  const token = 'a.b.c'
  const cases: Array<[string, (v: unknown) => boolean, unknown, boolean]> = [
    ['auth', isAuthFrame, { type: 'auth', token }, true],
    ['auth with unknown field (forward compatible)', isAuthFrame, { type: 'auth', token, future: 1 }, true],
    ['auth without token', isAuthFrame, { type: 'auth' }, false],
    ['auth with empty token', isAuthFrame, { type: 'auth', token: '' }, false],
    ['auth with numeric token', isAuthFrame, { type: 'auth', token: 1 }, false],
    ['auth with oversized token', isAuthFrame, { type: 'auth', token: 'x'.repeat(MAX_TOKEN_LENGTH + 1) }, false],
    ['renew', isRenewFrame, { type: 'renew', token }, true],
    ['renew with id', isRenewFrame, { type: 'renew', token, id: 'r-1' }, true],
    ['renew with numeric id', isRenewFrame, { type: 'renew', token, id: 1 }, false],
    ['renew with long id', isRenewFrame, { type: 'renew', token, id: 'x'.repeat(65) }, false],
    ['renew as auth', isAuthFrame, { type: 'renew', token }, false],
    ['array', isRenewFrame, [], false],
    ['null', isRenewFrame, null, false],
    ['authenticated', isServerFrame, { type: 'authenticated', connectionId: 'c', subject: 's', expiresAt: 1, expiresIn: 0 }, true],
    ['authenticated with fractional time', isServerFrame, { type: 'authenticated', connectionId: 'c', subject: 's', expiresAt: 1.5, expiresIn: 0 }, false],
    ['renew_required', isServerFrame, { type: 'renew_required', expiresAt: 10, expiresIn: 5 }, true],
    ['renewed', isServerFrame, { type: 'renewed', id: 'a', expiresAt: 10, expiresIn: 5 }, true],
    ['auth_error', isServerFrame, { type: 'auth_error', code: 'token_expired', message: 'm', closing: false, retry: true }, true],
    ['auth_error with unknown code', isServerFrame, { type: 'auth_error', code: 'nope', message: 'm', closing: false, retry: true }, false]
  ]
  for (const [name, check, value, valid] of cases) t.equal(check(value), valid, name)
})

t.test('reserved frame types', async (t) => {
  t.same(FRAMES.map((f) => f.type).sort(), Object.values(FrameType).sort())
  for (const type of Object.values(FrameType)) {
    t.ok(type.startsWith('auth') || type.startsWith('renew'), `${type} is found by the server's byte search`)
    t.equal(reservedTypeOf({ type }), type)
  }
  t.equal(reservedTypeOf({ type: 'chat' }), undefined)
  t.equal(reservedTypeOf({ type: 1 }), undefined)
  t.equal(reservedTypeOf('renew'), undefined)
  t.equal(reservedTypeOf(null), undefined)
})
