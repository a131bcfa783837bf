// The soak's 2-minute form: 2,000 connections through several renewal cycles with churn,
// expiries, refused renewals, revocations and application messages. The targets are those
// of `npm run soak` loosened for a short run on a shared machine: two minutes of a small
// heap are mostly noise, so growth is bounded loosely and the structures exactly.
import t from 'tap'
import { SOAK_DEFAULTS, runSoak } from '../bench/soak/soak.ts'
import { soakProblems } from '../bench/soak/verdict.ts'

t.setTimeout(240_000)

t.test('a 2-minute soak: nothing grows, every expired connection is closed on time', async (t) => {
  const result = await runSoak({
    ...SOAK_DEFAULTS,
    minutes: 2,
    connections: 2000,
    ttlS: 30,
    sampleSeconds: 15,
    churnPerSecond: 10,
    messagesPerSecond: 50
  }, (line) => { t.comment(line) })
  t.ok(result.samples.length >= 6, `sampled ${result.samples.length} times`)
  t.ok(result.counts.renewed! > 2000 * 3, `several renewal cycles (${String(result.counts.renewed)} renewals)`)
  t.ok(result.counts.churned! > 0 && result.counts.revocations! > 0 && result.counts.echoes! > 0, 'churn, revocations and app traffic ran')
  t.ok(result.expiry.closed > 0, `connections left to expire were closed (${result.expiry.closed} of ${result.expiry.expected})`)
  t.equal(result.expiry.notClosed, 0, 'no expired connection stayed open past its deadline')
  t.ok(result.counts.renewalsRefused! > 0, 'renewals with an expired token were refused')
  t.same(soakProblems(result, { growthPct: 25, latenessMs: 2000 }), [], 'no growth, no leak, no unexpected close, no crash')
})
