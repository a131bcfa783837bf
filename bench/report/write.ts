import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** Written beside its final name, then renamed: a reader never sees half a file. */
export function writeAtomically (dir: string, name: string, content: string): string {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, name)
  const temporary = `${path}.tmp`
  writeFileSync(temporary, content)
  renameSync(temporary, path)
  return path
}
