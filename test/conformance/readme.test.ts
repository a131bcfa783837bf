import { readFileSync } from 'node:fs'
import t from 'tap'
import { CLIENT_CASES } from '../../conformance/cases/index.ts'
import { SERVER_CASES } from '../../conformance/grader/cases.ts'

const readme = readFileSync(new URL('../../conformance/README.md', import.meta.url), 'utf8')

/** The rows of the table under `heading`: case id → title. */
function table (heading: string): Map<string, string> {
  const start = readme.indexOf(heading)
  const rows = new Map<string, string>()
  if (start === -1) return rows
  for (const line of readme.slice(start).split('\n').slice(1)) {
    if (line.startsWith('#')) break
    const cells = line.split('|').map((cell) => cell.trim())
    if (cells.length > 4 && cells[1] !== 'case' && !(cells[1] as string).startsWith('---')) rows.set(cells[1] as string, cells[3] as string)
  }
  return rows
}

for (const [heading, cases] of [['### Client cases', CLIENT_CASES], ['### Server cases', SERVER_CASES]] as const) {
  t.test(`conformance/README.md ${heading.slice(4)} lists exactly the cases, with their titles and count`, async (t) => {
    const rows = table(heading)
    t.same([...rows.keys()], cases.map((c) => c.id), 'the same ids, in order')
    for (const c of cases) t.equal(rows.get(c.id), c.title, `${c.id} title`)
    t.match(readme, `${heading} (${cases.length})`, 'the heading gives the count')
  })
}
