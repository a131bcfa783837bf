import type { SuiteResult } from './suite.ts'

/** The guarantees a run broke, one line each (empty when every one held). */
export function violations (result: SuiteResult): string[] {
  const problems: string[] = []
  for (const f of result.faults) {
    const name = `${f.fault}#${f.round + 1}`
    if (f.notEnforced > 0) problems.push(`${name}: ${f.notEnforced} resolved revocations not enforced`)
    if (f.revokedSocketsLeftOpen > 0) problems.push(`${name}: ${f.revokedSocketsLeftOpen} revoked sockets left open`)
    if (f.overAdmitted > 0) problems.push(`${name}: ${f.overAdmitted} handshakes over the shared limit`)
    if (f.fault === 'instance-sigkill' && (f.leaseFreedMs === undefined || f.leaseFreedMs > result.profile.leaseMs + 1000)) {
      problems.push(`${name}: the killed instance's slots were freed after ${String(f.leaseFreedMs)} ms (lease ${result.profile.leaseMs} ms)`)
    }
  }
  if (result.leakedConnections > 0) problems.push(`${result.leakedConnections} connections still counted after every client closed`)
  for (const crash of result.crashed) problems.push(`crashed: ${crash}`)
  return problems
}
