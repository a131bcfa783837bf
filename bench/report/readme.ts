import { readFileSync, writeFileSync } from 'node:fs'

const START = '<!-- bench:results:start -->'
const END = '<!-- bench:results:end -->'

/** Replaces the results section of bench/README.md (between its markers) with the latest table. */
export function updateReadme (path: string, table: string): boolean {
  const text = readFileSync(path, 'utf8')
  const start = text.indexOf(START)
  const end = text.indexOf(END)
  if (start === -1 || end < start) return false
  writeFileSync(path, `${text.slice(0, start + START.length)}\n${table}\n${text.slice(end)}`)
  return true
}
