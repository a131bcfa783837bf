// The short form of `npm run faults`: every fault once, against a real redis-server and
// three plugin instances in their own processes, under a light steady load.
import t from 'tap'
import { QUICK, runSuite } from '../bench/faults/suite.ts'
import { violations } from '../bench/faults/verdict.ts'
import { redisSkip } from './redis/server.ts'

t.test('faults under load: nothing resolved is lost, no socket left open, no limit overrun, no crash', { skip: redisSkip, timeout: 150_000 }, async (t) => {
  const result = await runSuite(QUICK, (line) => { t.comment(line) })
  t.equal(result.faults.length, 7, 'every fault ran')
  for (const f of result.faults) {
    t.ok(f.revocationsResolved > 0, `${f.fault}: revocations resolved under load`)
    t.ok(f.handshakes.accepted > 0 && f.renewals.renewed > 0, `${f.fault}: handshakes and renewals went on`)
    t.equal(f.notEnforced, 0, `${f.fault}: every resolved revocation enforced on every instance`)
    t.equal(f.revokedSocketsLeftOpen, 0, `${f.fault}: no revoked socket left open`)
    t.equal(f.overAdmitted, 0, `${f.fault}: the shared limit held`)
    t.same(f.crashed, [], `${f.fault}: no instance crashed`)
  }
  const empty = result.faults.find((f) => f.fault === 'redis-restart-empty')
  t.ok((empty?.notEnforcedDocumented ?? 0) > 0, 'a restart without persistence forgets revocations, as README says (and the check sees it)')
  const killed = result.faults.find((f) => f.fault === 'instance-sigkill')
  t.ok(killed?.leaseFreedMs !== undefined && killed.leaseFreedMs <= QUICK.leaseMs + 1000, `a killed instance's slots free within one lease (${String(killed?.leaseFreedMs)} ms, lease ${QUICK.leaseMs} ms)`)
  t.equal(result.leakedConnections, 0, 'no connection still counted once every client closed')
  t.same(violations(result), [])
})
