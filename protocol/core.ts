// The protocol without its TypeBox schemas: names, numbers, close policies, the error
// table's actions and hand-written checks of the frames a client receives. What a client
// imports, so that its bundle carries no schema compiler (index.ts adds the schemas and
// the error messages for servers).
export * from './version.ts'
export * from './close-codes.ts'
export * from './frame-types.ts'
export * from './frame-checks.ts'
export { ERROR_ACTIONS } from './error-actions.generated.ts'
export type { ErrorCode } from './error-codes.ts'
export type { AuthErrorFrame, AuthenticatedFrame, RenewRequiredFrame, RenewedFrame, RenewFrame, AuthFrame, ServerFrame, ClientFrame, Frame } from './frames.ts'
