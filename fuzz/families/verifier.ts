import { ERRORS } from '../../protocol/index.ts'
import { isErrorDefinition } from '../../plugin/credential.ts'
import { fuzzVerifier } from '../context.ts'
import { FIXED_NOW, type Family } from '../family.ts'
import { fail } from '../invariants.ts'
import { judgeToken } from '../oracle.ts'
import { makeToken, tokenPlanArbitrary, type TokenPlan } from '../tokens.ts'

const documented = new Set(Object.values(ERRORS))

/** Checks one verification against the oracle; shared with the handshake families. */
export function checkVerification (token: string, result: unknown, notAfterMs: number, notBeforeMs: number): void {
  if (isErrorDefinition(result)) {
    if (!documented.has(result)) fail('documented-refusal', `verifier refused with an unknown error ${JSON.stringify(result)}`)
    return
  }
  const verdict = judgeToken(token, notAfterMs, notBeforeMs)
  const subject = (result as { subject?: unknown }).subject
  if (!verdict.valid) fail('only-valid-tokens', `accepted a token that is not validly signed and current: ${token}`)
  if (subject !== verdict.subject) fail('only-valid-tokens', `accepted as ${String(subject)}, token says ${String(verdict.subject)}`)
  const deadline = (result as { deadline?: unknown }).deadline as number
  if (!(deadline <= (verdict.expiresAt as number))) fail('only-valid-tokens', `deadline ${deadline} after exp ${verdict.expiresAt}`)
}

export function verifierFamily (): Family<TokenPlan> {
  const verifier = fuzzVerifier()
  return {
    name: 'verifier',
    description: 'token shapes and mutations of valid tokens through the plugin\'s TokenVerifier (in process, fixed clock)',
    kind: 'in-process',
    weight: 25,
    concurrency: 1,
    arbitrary: () => tokenPlanArbitrary('alice', 's-1'),
    run (plan) {
      const token = makeToken(plan, FIXED_NOW)
      const result = verifier.verify(token)
      if (result instanceof Promise) fail('synchronous-verification', 'a static key verified asynchronously')
      checkVerification(token, result, FIXED_NOW, FIXED_NOW)
    }
  }
}
