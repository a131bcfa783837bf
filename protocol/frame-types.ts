// The names of the frames and how a message is told to be one: no schemas here, so that
// a client can import it without TypeBox (the schemas are in frames.ts).

/**
 * The `type` of every frame this protocol defines. Applications must not use these types.
 * A const object rather than a TS enum, so a plain `{ type: 'renew' }` literal type-checks.
 */
export const FrameType = Object.freeze({
  Auth: 'auth',
  Renew: 'renew',
  Authenticated: 'authenticated',
  RenewRequired: 'renew_required',
  Renewed: 'renewed',
  AuthError: 'auth_error'
} as const)
export type FrameType = typeof FrameType[keyof typeof FrameType]

/** Frame types reserved by the protocol; any other `type` belongs to the application. */
export const RESERVED_FRAME_TYPES: ReadonlySet<string> = new Set(Object.values(FrameType))

/** Parses JSON text without throwing; `undefined` when it is not JSON. */
export function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The `type` of a parsed frame if it is one the protocol reserves, else `undefined`. */
export function reservedTypeOf (value: unknown): FrameType | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const type = (value as { type?: unknown }).type
  return typeof type === 'string' && RESERVED_FRAME_TYPES.has(type) ? type as FrameType : undefined
}
