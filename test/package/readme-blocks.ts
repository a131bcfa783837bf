/**
 * The TypeScript code blocks of a Markdown file, as a reader copies them. A block that is
 * deliberately a fragment (it uses `app` or `getToken` defined elsewhere) is preceded by
 * an HTML comment naming what it assumes, which becomes its prelude:
 *
 *     <!-- fragment: declare const app: import('fastify').FastifyInstance -->
 *
 * Every block is compiled as an ES module (an `export {}` is appended), so top-level
 * `await` and `declare module` augmentations mean what they mean in a user's file.
 */
export interface CodeBlock {
  /** `README.md:47`: the file and the line of the opening fence. */
  readonly origin: string
  readonly prelude: string
  readonly code: string
}

const FENCE = /^```(\w*)\s*$/
const FRAGMENT = /^<!--\s*fragment:\s*([\s\S]*?)\s*-->$/

export function typeScriptBlocks (markdown: string, file: string): CodeBlock[] {
  const lines = markdown.split('\n')
  const blocks: CodeBlock[] = []
  let prelude = ''
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    const fragment = FRAGMENT.exec(line.trim())
    if (fragment !== null) {
      prelude = fragment[1] as string
      continue
    }
    const fence = FENCE.exec(line)
    if (fence === null) {
      if (line.trim() !== '') prelude = ''
      continue
    }
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && !(lines[i] as string).startsWith('```'); i++) body.push(lines[i] as string)
    if (fence[1] === 'ts' || fence[1] === 'typescript') {
      blocks.push({ origin: `${file}:${start + 1}`, prelude, code: body.join('\n') })
    } else if (prelude !== '') {
      throw new Error(`${file}:${start + 1}: a fragment comment precedes a ${fence[1] || 'plain'} block`)
    }
    prelude = ''
  }
  return blocks
}

/** The module a block is compiled as: its prelude, the block as written, `export {}`. */
export function moduleOf (block: CodeBlock): string {
  return `${block.prelude}\n// ${block.origin}\n${block.code}\nexport {}\n`
}
