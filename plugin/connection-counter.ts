import type { ConnectionLimitPolicy } from './options.ts'

/** One connection's claim on its subject's share of `maxConnectionsPerSubject`. */
export interface ConnectionSlot {
  readonly subject: string
  readonly connectionId: string
}

/**
 * The answer to {@link ConnectionCounter.acquire}. `supersedes`: with policy
 * `close-oldest`, the connection (on any instance) whose slot was taken over; the plugin
 * closes it with `connection_superseded`.
 */
export type SlotGrant =
  | { readonly granted: true, readonly supersedes?: string | undefined }
  | { readonly granted: false }

/**
 * Counts live connections per subject across every instance, so that
 * `maxConnectionsPerSubject` holds for the whole deployment rather than one process.
 * Without one, the plugin counts this process's connections only.
 *
 * The plugin acquires a slot after a handshake's credential passed every other check,
 * and releases it when the socket closes, whatever happened in between (a refused
 * registration, a client gone before the upgrade finished). Implementations must make
 * `release` idempotent and must not count a slot forever if its instance dies without
 * releasing it (`fastify-ws-auth/redis` leases each slot and refreshes the leases of its
 * live connections). A throw or rejection of `acquire` refuses the handshake with
 * `revocation_unavailable` (the shared store cannot answer).
 */
export interface ConnectionCounter {
  acquire (slot: ConnectionSlot, limit: { readonly max: number, readonly policy: ConnectionLimitPolicy }): SlotGrant | Promise<SlotGrant>
  release (slot: ConnectionSlot): void | Promise<void>
  /** Called when the Fastify instance closes: release every slot still held. */
  close? (): void | Promise<void>
}
