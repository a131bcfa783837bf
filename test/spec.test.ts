import { readFileSync } from 'node:fs'
import t from 'tap'
import { CloseCode, CLOSE_CODES, ERRORS, ERROR_CODES, FRAMES, closePolicy } from '../protocol/index.ts'
import { redactQueryCredential } from '../plugin/query-credential.ts'
import { bearer, connect, sign, startServer } from './helpers.ts'

const spec = readFileSync(new URL('../SPEC.md', import.meta.url), 'utf8')

/** The rows (cells, trimmed) of the first Markdown table after `heading`. */
export function tableAfter (document: string, heading: string): string[][] {
  const text = `\n${document}`
  const start = text.indexOf(`\n${heading}\n`)
  if (start === -1) return []
  const lines = text.slice(start + heading.length + 2).split('\n')
  const first = lines.findIndex((line) => line.startsWith('|'))
  if (first === -1) return []
  const rows: string[][] = []
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break
    rows.push(line.slice(1, -1).split('|').map((cell) => cell.trim()))
  }
  return rows
}

const unquote = (cell: string): string => cell.replace(/^`|`$/g, '')

t.test('the table parser finds tables and can tell them apart', async (t) => {
  t.same(tableAfter('## A\n\n| x | y |\n| --- | --- |\n| 1 | 2 |\n\n## B\n', '## A'), [['1', '2']])
  t.same(tableAfter('## A\n\ntext\n', '## Missing'), [])
})

t.test('## Frames equals FRAMES: types, directions and fields', async (t) => {
  const rows = tableAfter(spec, '## 4. Frames')
  t.ok(rows.length > 0, 'the frames table exists')
  const documented = rows.map(([type, direction, fields]) => ({
    type: unquote(type as string),
    direction,
    fields: (fields as string).split(',').map((field) => unquote(field.trim()))
  }))
  const exported = FRAMES.map(({ type, direction, schema }) => {
    const required = new Set((schema as { required?: string[] }).required ?? [])
    const properties = Object.keys((schema as { properties: Record<string, unknown> }).properties)
    return { type, direction, fields: properties.map((name) => required.has(name) ? name : `${name}?`) }
  })
  t.same(documented, exported)
  for (const { type, fields } of exported) {
    t.match(spec, new RegExp(`### \`${type}\`\\n`), `a section for ${type}`)
    const section = spec.slice(spec.indexOf(`### \`${type}\`\n`))
    const fieldRows = tableAfter(section, `### \`${type}\``).map((row) => unquote(row[0] as string))
    t.same(fieldRows, fields.map((field) => field.replace('?', '')), `${type}: its field table lists exactly its fields`)
    const requiredColumn = tableAfter(section, `### \`${type}\``).map((row) => row[2] === 'yes')
    t.same(requiredColumn, fields.map((field) => !field.endsWith('?')), `${type}: required column`)
  }
})

t.test('## Close codes equals CloseCode and closePolicy', async (t) => {
  const rows = tableAfter(spec, '## 7. Close codes')
  t.ok(rows.length > 0, 'the close code table exists')
  const documented = rows.map(([code, name, policy]) => [Number(code), unquote(name as string), unquote(policy as string)])
  const exported = CLOSE_CODES.map((code) => [code, CloseCode[code], closePolicy(code)])
  t.same(documented, exported)
})

t.test('## Error codes equals ERRORS', async (t) => {
  const rows = tableAfter(spec, '## 8. Error codes')
  t.ok(rows.length > 0, 'the error table exists')
  const documented = rows.map(([code, status, closeCode, retry]) => [unquote(code as string), Number(status), Number(closeCode), retry === 'yes'])
  const exported = ERROR_CODES.map((code) => [code, ERRORS[code].status, ERRORS[code].closeCode, ERRORS[code].retry])
  t.same(documented, exported)
})

// Issue 14 item 8: SPEC §2.4's rule and the server's are one; its examples are run here.
t.test('## 2.4 examples: the query credential rule, against the rule and a real server', async (t) => {
  const rows = tableAfter(spec, '### 2.4 Never the URL query')
  t.ok(rows.length >= 20, 'the examples table exists')
  const server = await startServer(t)
  const good = sign()
  for (const [query, verdict] of rows) {
    const q = unquote(query as string)
    t.ok(verdict === 'yes' || verdict === 'no', `${q}: verdict is yes or no`)
    const credential = verdict === 'yes'
    t.equal(redactQueryCredential(`/ws?${q}`) !== undefined, credential, `${q}: redactQueryCredential`)
    const client = connect(`${server.url}?${q}`, bearer(good))
    const answer = await Promise.race([client.refused, client.opened.then(() => ({ status: 101, body: undefined }))])
    if (credential) {
      t.same([answer.status, (answer.body as { code?: string } | undefined)?.code], [400, 'credential_in_query'], `${q}: refused by the server`)
    } else {
      t.equal(answer.status, 101, `${q}: accepted by the server`)
    }
    client.socket.terminate()
  }
})
