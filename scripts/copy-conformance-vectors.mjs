// The conformance kit reads its vectors next to its grader (`../vectors/*.json`): tsc does not
// copy JSON, so the build puts them beside the compiled kit in dist/.
import { cpSync, mkdirSync, readdirSync } from 'node:fs'

const from = new URL('../conformance/vectors/', import.meta.url)
const to = new URL('../dist/conformance/vectors/', import.meta.url)
mkdirSync(to, { recursive: true })
for (const file of readdirSync(from)) if (file.endsWith('.json')) cpSync(new URL(file, from), new URL(file, to))
