// The wire protocol: the one place where frames, close codes, error codes and names are defined.
// It imports nothing from Fastify or Node's network stack so that servers and clients share it.
// Clients import core.ts instead: all of it but the TypeBox schemas and the error messages.
export * from './version.ts'
export * from './close-codes.ts'
export * from './error-codes.ts'
export * from './frame-types.ts'
export * from './frames.ts'
export * from './frame-checks.ts'
export { ERROR_ACTIONS } from './error-actions.generated.ts'
