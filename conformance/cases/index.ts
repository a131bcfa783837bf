import type { CaseDefinition } from '../server/case-run.ts'
import { closingCases } from './closing.ts'
import { limitCases } from './limits.ts'
import { renewalCases } from './renewal.ts'
import { robustnessCases } from './robustness.ts'
import { transportCases } from './transports.ts'

/** Every client-grading case, in SPEC order. */
export const CLIENT_CASES: readonly CaseDefinition[] = Object.freeze([
  ...transportCases,
  ...robustnessCases.filter((c) => c.section.startsWith('4.')),
  ...renewalCases.filter((c) => c.section.startsWith('5.')),
  ...renewalCases.filter((c) => c.section.startsWith('6.')),
  ...robustnessCases.filter((c) => c.section.startsWith('6.')),
  ...closingCases,
  ...renewalCases.filter((c) => c.section.startsWith('9.')),
  ...limitCases,
  ...robustnessCases.filter((c) => c.section.startsWith('11.') || c.section.startsWith('13.'))
])
