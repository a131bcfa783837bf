import type { FastifyBaseLogger } from 'fastify'

/**
 * Whether `logger` writes `level`: log objects on the handshake path are built only then.
 * pino answers `isLevelEnabled`; Fastify's logger for `logger: false` (abstract-logging)
 * has neither it nor a `level`, and writes nothing; any other logger is assumed to write.
 */
export function logs (logger: FastifyBaseLogger, level: 'info' | 'debug'): boolean {
  const { isLevelEnabled } = logger as { isLevelEnabled?: (level: string) => boolean }
  if (typeof isLevelEnabled === 'function') return isLevelEnabled.call(logger, level)
  return 'level' in logger
}
