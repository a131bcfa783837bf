// The wire protocol: the one place where frames, close codes, error codes and names are defined.
// It imports nothing from Fastify or Node's network stack so that servers and clients share it.
export * from './version.ts'
export * from './close-codes.ts'
export * from './error-codes.ts'
export * from './frames.ts'
