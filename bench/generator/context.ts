import { TokenFactory, type TokenClaims } from '../shared/tokens.ts'
import type { BenchKeys, ClientSpec, SigningAlgorithm } from '../shared/protocol.ts'
import type { Session } from './raw/session.ts'

/** Connections held open across jobs (echo, broadcast, renewal, storm, expiry, memory). */
export interface Pool {
  readonly spec: ClientSpec
  readonly sessions: Session[]
  /** The claims each session authenticated with; renewals keep `sub`, `sid` and `exp`. */
  readonly claims: TokenClaims[]
  /** Per session, epoch ms of its deadline. */
  readonly deadlines: number[]
  ended: number
  /** The running job's message handler. */
  onMessage: (session: Session, payload: Buffer) => void
  /** The running job's close-frame handler. */
  onClosing: (session: Session, code: number) => void
}

export class GeneratorContext {
  readonly keys: BenchKeys
  readonly pools = new Map<string, Pool>()
  readonly #factories = new Map<string, TokenFactory>()

  constructor (keys: BenchKeys) {
    this.keys = keys
  }

  tokens (algorithm: SigningAlgorithm, badSignature = false): TokenFactory {
    const name = `${algorithm}:${String(badSignature)}`
    let factory = this.#factories.get(name)
    if (factory === undefined) {
      factory = new TokenFactory(this.keys, algorithm, badSignature)
      this.#factories.set(name, factory)
    }
    return factory
  }

  pool (name: string): Pool {
    const pool = this.pools.get(name)
    if (pool === undefined) throw new Error(`no pool ${name}`)
    return pool
  }
}

const ADDRESSES = 16 * 254
let nextAddress = 0

/**
 * The source address of the next connection, rotating over 4,064 loopback addresses
 * (127.1.0.1 to 127.1.15.254). Like real clients, connections come from many addresses:
 * the plugin's default handshake limit (100 per 10 s per address) stays on without
 * refusing a benchmark that opens thousands per second, and no address runs out of
 * ephemeral ports during the large holds.
 */
export function localAddress (): string {
  const n = nextAddress++ % ADDRESSES
  return `127.1.${Math.floor(n / 254)}.${1 + (n % 254)}`
}

/** The one address the rate-limited variant sends from (outside the rotation above). */
export const RATE_LIMITED_ADDRESS = '127.0.0.9'

export const nowSeconds = (): number => Date.now() / 1000

/** Claims of the i-th simulated user: one subject and one session per connection. */
export function userClaims (index: number, exp: number): TokenClaims {
  return { sub: `user-${index}`, sid: `session-${index}`, exp }
}
