import type { BenchKeys, Job, JobRequest, JobResponse } from '../shared/protocol.ts'
import { GeneratorContext } from './context.ts'
import { runBroadcast } from './jobs/broadcast.ts'
import { runCheck } from './jobs/check.ts'
import { runFeed, runRevoke } from './jobs/cluster.ts'
import { runEcho } from './jobs/echo.ts'
import { runExpiry } from './jobs/expiry.ts'
import { runHandshake } from './jobs/handshake.ts'
import { runHttp } from './jobs/http.ts'
import { closePool, openPool } from './jobs/pool.ts'
import { runRenewal, runStorm } from './jobs/renewal.ts'
import { runWsHandshake } from './jobs/ws-handshake.ts'

// The load generator: one process, pinned by the orchestrator to the core the server does
// not use, running one job at a time on request.
const keys = JSON.parse(process.env.BENCH_KEYS ?? 'null') as BenchKeys | null
if (keys === null || process.send === undefined) {
  process.stderr.write('bench/generator/main.ts is started by bench/run.ts (it needs BENCH_KEYS and an IPC channel)\n')
  process.exit(2)
}
const context = new GeneratorContext(keys)

function run (job: Job): Promise<unknown> {
  switch (job.kind) {
    case 'handshake': return job.wsClient === true ? runWsHandshake(job, context) : runHandshake(job, context)
    case 'open-pool': return openPool(job, context)
    case 'close-pool': return closePool(job, context)
    case 'echo': return runEcho(job, context)
    case 'broadcast': return runBroadcast(job, context)
    case 'renewal': return runRenewal(job, context)
    case 'storm': return runStorm(job, context)
    case 'expiry': return runExpiry(job, context)
    case 'http': return runHttp(job)
    case 'check': return runCheck(job, context)
    case 'revoke': return runRevoke(job, context)
    case 'feed': return runFeed(job, context)
  }
}

process.on('message', (request: JobRequest | { type: 'stop' }) => {
  if ('type' in request) process.exit(0)
  run(request.job).then(
    (result) => { process.send?.({ id: request.id, result } satisfies JobResponse) },
    (err: unknown) => { process.send?.({ id: request.id, error: (err as Error).stack ?? String(err) } satisfies JobResponse) }
  )
})
// Without its orchestrator the generator stops at once, connections and all.
process.on('disconnect', () => { process.exit(0) })
