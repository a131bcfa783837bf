import t from 'tap'
import { ERRORS } from '../../protocol/index.ts'
import { checkClaims, type ClaimRules } from '../../plugin/claims.ts'

const NOW = 1_800_000_000_000
const base = { sub: 'alice', exp: NOW / 1000 + 60 }
const open: ClaimRules = { issuers: undefined, audiences: undefined, clockToleranceMs: 0 }
const strict: ClaimRules = { issuers: ['https://issuer'], audiences: ['api'], clockToleranceMs: 0 }

t.test('claims', async (t) => {
  const cases: Array<[string, unknown, ClaimRules, unknown]> = [
    ['valid', base, open, NOW + 60_000],
    ['fractional exp', { ...base, exp: NOW / 1000 + 0.25 }, open, NOW + 250],
    ['exp == now is expired', { ...base, exp: NOW / 1000 }, open, ERRORS.token_expired],
    ['exp in the past', { ...base, exp: NOW / 1000 - 1 }, open, ERRORS.token_expired],
    ['exp == now within tolerance', { ...base, exp: NOW / 1000 }, { ...open, clockToleranceMs: 5000 }, NOW + 5000],
    ['missing exp', { sub: 'alice' }, open, ERRORS.token_claims_invalid],
    ['string exp', { ...base, exp: String(NOW / 1000 + 60) }, open, ERRORS.token_claims_invalid],
    ['negative exp', { ...base, exp: -1 }, open, ERRORS.token_claims_invalid],
    ['exp beyond representable dates', { ...base, exp: 1e300 }, open, ERRORS.token_claims_invalid],
    ['exp far but valid (year 2200)', { ...base, exp: 7_258_118_400 }, open, 7_258_118_400_000],
    ['missing sub', { exp: base.exp }, open, ERRORS.token_claims_invalid],
    ['empty sub', { ...base, sub: '' }, open, ERRORS.token_claims_invalid],
    ['numeric sub', { ...base, sub: 42 }, open, ERRORS.token_claims_invalid],
    ['huge sub', { ...base, sub: 'x'.repeat(1025) }, open, ERRORS.token_claims_invalid],
    ['numeric sid', { ...base, sid: 1 }, open, ERRORS.token_claims_invalid],
    ['string iat', { ...base, iat: 'now' }, open, ERRORS.token_claims_invalid],
    // Issue 14: an iat in the future is accepted (issuedAt is clamped instead: issuer-and-iat.test.ts).
    ['iat in the future', { ...base, iat: NOW / 1000 + 10 }, open, NOW + 60_000],
    ['iat == now', { ...base, iat: NOW / 1000 }, open, NOW + 60_000],
    ['iat in the past', { ...base, iat: NOW / 1000 - 10 }, open, NOW + 60_000],
    ['nbf in the future', { ...base, nbf: NOW / 1000 + 10 }, open, ERRORS.token_not_yet_valid],
    ['nbf in the future within tolerance', { ...base, nbf: NOW / 1000 + 1 }, { ...open, clockToleranceMs: 2000 }, NOW + 60_000 + 2000],
    ['nbf == now', { ...base, nbf: NOW / 1000 }, open, NOW + 60_000],
    ['string nbf', { ...base, nbf: 'x' }, open, ERRORS.token_claims_invalid],
    ['array payload', [], open, ERRORS.token_claims_invalid],
    ['null payload', null, open, ERRORS.token_claims_invalid],
    ['issuer and audience match', { ...base, iss: 'https://issuer', aud: 'api' }, strict, NOW + 60_000],
    ['audience array containing ours', { ...base, iss: 'https://issuer', aud: ['other', 'api'] }, strict, NOW + 60_000],
    ['missing iss when configured', { ...base, aud: 'api' }, strict, ERRORS.token_issuer_invalid],
    ['wrong iss', { ...base, iss: 'https://evil', aud: 'api' }, strict, ERRORS.token_issuer_invalid],
    ['array iss', { ...base, iss: ['https://issuer'], aud: 'api' }, strict, ERRORS.token_issuer_invalid],
    ['array iss when not configured', { ...base, iss: ['x'] }, open, ERRORS.token_claims_invalid],
    ['wrong aud', { ...base, iss: 'https://issuer', aud: 'other' }, strict, ERRORS.token_audience_invalid],
    ['empty aud array', { ...base, iss: 'https://issuer', aud: [] }, strict, ERRORS.token_audience_invalid],
    ['aud array with a non-string', { ...base, iss: 'https://issuer', aud: ['api', 1] }, strict, ERRORS.token_audience_invalid],
    ['missing aud when configured', { ...base, iss: 'https://issuer' }, strict, ERRORS.token_audience_invalid]
  ]
  for (const [name, payload, rules, expected] of cases) t.equal(checkClaims(payload, rules, NOW), expected, name)
})
