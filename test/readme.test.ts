import { readFileSync } from 'node:fs'
import t from 'tap'
import { ERRORS, ERROR_CODES } from '../protocol/index.ts'
import * as exported from '../plugin/index.ts'
import * as redisExported from '../redis/index.ts'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

/** Rows of the first Markdown table whose header line starts with `header`. */
function table (header: string): string[][] {
  const lines = readme.split('\n')
  const start = lines.findIndex((line) => line.startsWith(header))
  if (start === -1) throw new Error(`no table headed ${header}`)
  const rows: string[][] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    rows.push(line.split('|').slice(1, -1).map((cell) => cell.trim().replace(/^`|`$/g, '')))
  }
  return rows
}

t.test('the README error table equals protocol/ ERRORS', async (t) => {
  const rows = table('| code | HTTP | close | retry |')
  t.same(rows.map(([code]) => code), [...ERROR_CODES], 'same codes, same order')
  for (const [code, status, close, retry] of rows) {
    const error = ERRORS[code as keyof typeof ERRORS]
    t.same([Number(status), Number(close), retry === 'yes'], [error.status, error.closeCode, error.retry], code as string)
  }
})

t.test('the README lists every error code the plugin and fastify-ws-auth/redis export', async (t) => {
  const documented = table('| code | when |').map(([code]) => code).sort()
  type ErrorConstructor = new () => Error & { code: string }
  const codes = ([...Object.values(exported), ...Object.values(redisExported)] as unknown[])
    .filter((value): value is ErrorConstructor => typeof value === 'function' && (value as ErrorConstructor).prototype instanceof Error)
    .map((ErrorType) => new ErrorType().code)
    .sort()
  t.ok(codes.length >= 3, `found ${codes.length} exported error constructors`)
  t.same(documented, codes)
})
