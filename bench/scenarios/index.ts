import { feedFanoutRedisScenario, revocationClusterScenario } from './cluster.ts'
import { handshakeScenario, rejectedScenario } from './handshake.ts'
import { handshakeAlgorithmsScenario } from './algorithms.ts'
import { expiryBurstScenario, expiryScenario, memoryScenario, stormScenario } from './held.ts'
import { revocationTokensScenario } from './revocation.ts'
import { httpScenario } from './http.ts'
import { broadcastScenario, echoScenario, renewalScenario } from './messages.ts'
import type { Scenario } from './scenario.ts'

/** Every scenario, in running order. Entries with `todo` are listed in the results, not run. */
export const SCENARIOS: readonly Scenario[] = [
  handshakeScenario,
  handshakeAlgorithmsScenario,
  rejectedScenario,
  echoScenario,
  broadcastScenario,
  renewalScenario,
  memoryScenario,
  stormScenario,
  expiryScenario,
  expiryBurstScenario,
  revocationTokensScenario,
  httpScenario,
  revocationClusterScenario,
  feedFanoutRedisScenario
]
