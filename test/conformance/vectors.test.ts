import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { buildVectors, VECTORS_DIRECTORY } from '../../conformance/vectors/generate.ts'
import { closePolicy, ERRORS, isRenewFrame, parseJson } from '../../protocol/index.ts'

const built = buildVectors()

t.test('the committed vector files are exactly what conformance/vectors/generate.ts produces', async (t) => {
  const committed = readdirSync(VECTORS_DIRECTORY).filter((name) => name.endsWith('.json')).sort()
  t.same(committed, Object.keys(built).sort(), 'no vector file missing or left over')
  for (const [name, text] of Object.entries(built)) {
    t.equal(readFileSync(join(VECTORS_DIRECTORY, name), 'utf8'), text, `${name} is up to date (run: node --import tsx conformance/vectors/generate.ts)`)
  }
})

t.test('the vectors carry expectations that the code decides, spot-checked', async (t) => {
  const frames = JSON.parse(built['frames.json'] as string) as { vectors: Array<{ name: string, text: string, expected: { outcome: string } }> }
  const escaped = frames.vectors.find((v) => v.name === 'renew: type written with a JSON escape')
  t.equal(escaped?.expected.outcome, 'application', 'an escaped type is application data')
  t.ok(isRenewFrame(parseJson(frames.vectors.find((v) => v.name === "renew: the SPEC's example")?.text ?? '')), 'the example renew validates')
  const subprotocol = JSON.parse(built['subprotocol.json'] as string) as { vectors: Array<{ name: string, expected: Record<string, unknown> }> }
  t.same(subprotocol.vectors.find((v) => v.name === 'a token of 8193 characters')?.expected, { error: 'token_too_large', status: 400 })
  t.same(subprotocol.vectors.find((v) => v.name === 'bearer entry first')?.expected.token !== undefined, true, 'order of the offer does not matter')
  const query = JSON.parse(built['query.json'] as string) as { vectors: Array<{ name: string, expected: { credential: boolean } }> }
  t.equal(query.vectors.find((v) => v.name === 'a JWT after a malformed escape')?.expected.credential, true)
  t.equal(query.vectors.find((v) => v.name === 'harmless parameters')?.expected.credential, false)
  const close = JSON.parse(built['close-codes.json'] as string) as { vectors: Array<{ code: number, policy: string, errors: string[] }> }
  for (const vector of close.vectors) t.equal(vector.policy, closePolicy(vector.code), `policy of ${vector.code}`)
  t.ok(close.vectors.find((v) => v.code === 4440)?.errors.includes(ERRORS.credential_expired.code))
  const timing = JSON.parse(built['timing.json'] as string) as { deadlines: Array<{ name: string, expected: { accepted: boolean } }> }
  t.equal(timing.deadlines.find((v) => v.name === 'exp equal to now is expired')?.expected.accepted, false)
})
