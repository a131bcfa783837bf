import type { Family } from '../family.ts'
import { frameDetectionFamily } from './frame-detection.ts'
import { handshakeHookFamily } from './handshake-hook.ts'
import { handshakeFamily } from './handshake.ts'
import { postAuthFamily, wireFamily } from './post-auth.ts'
import { preAuthFamily } from './pre-auth.ts'
import { queryFamily } from './query.ts'
import { renewalFamily } from './renewal.ts'
import { verifierFamily } from './verifier.ts'

/** Every family, in-process first. */
export function allFamilies (): Array<Family<any>> {
  return [verifierFamily(), handshakeHookFamily(), frameDetectionFamily(), queryFamily(), handshakeFamily(), preAuthFamily(), postAuthFamily(), wireFamily(), renewalFamily()]
}
