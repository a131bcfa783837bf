// The client's hand-written frame checks (protocol/frame-checks.ts) against the TypeBox
// schemas they stand for (protocol/frames.ts): on many thousands of generated frames per
// type, valid ones and near misses, each check accepts exactly what its schema accepts.
// The generators are derived from the schemas themselves, so a schema that gains a field,
// a bound or a keyword makes this test generate frames the unchanged checks judge
// differently, or fail on a keyword it does not know.
import fc from 'fast-check'
import t from 'tap'
import { Type, type TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import {
  AuthErrorFrame, AuthenticatedFrame, RenewRequiredFrame, RenewedFrame,
  checkServerFrame, isAuthErrorFrame, isAuthenticatedFrame, isRenewRequiredFrame, isRenewedFrame
} from '../../protocol/index.ts'

/** Runs per generator and frame type; four types, three generators each. */
const RUNS = Number(process.env.FRAME_CHECK_RUNS ?? 4000)

interface JsonSchema {
  type?: string
  const?: unknown
  enum?: readonly unknown[]
  minLength?: number
  maxLength?: number
  minimum?: number
  properties?: Record<string, JsonSchema>
  required?: readonly string[]
}

/** Keywords the generators understand; any other one is a schema change this test must be taught first. */
const KNOWN = new Set(['type', 'const', 'enum', 'minLength', 'maxLength', 'minimum', 'properties', 'required', 'description'])

function checkKeywords (schema: JsonSchema, path: string): void {
  for (const key of Object.keys(schema)) {
    if (!KNOWN.has(key)) throw new Error(`${path} uses the keyword ${key}: teach this test and protocol/frame-checks.ts about it`)
  }
  for (const [name, property] of Object.entries(schema.properties ?? {})) checkKeywords(property, `${path}.${name}`)
}

// Strings are built from code points of every kind: ASCII, astral ones (two UTF-16 units,
// one code point, which is what minLength and maxLength count), and lone surrogates (a lone
// low one anywhere, a lone high one only last, so that no two of them pair up).
const codePoint = fc.oneof(
  fc.constantFrom('a', 'Z', '0', ' ', '"', '\\', '\u0000', 'é'),
  fc.constantFrom('😀', '𝄞', '\u{10FFFF}'),
  fc.integer({ min: 0xdc00, max: 0xdfff }).map((unit) => String.fromCharCode(unit))
)
/** A string of exactly `length` code points. */
const stringOf = (length: number): fc.Arbitrary<string> =>
  fc.tuple(fc.array(codePoint, { minLength: length, maxLength: length }), fc.boolean()).map(([points, highLast]) => {
    if (highLast && points.length > 0) points[points.length - 1] = '\ud83d'
    return points.join('')
  })
/** `length` UTF-16 units near and in the surrogate ranges, paired or not as they fall. */
const unitSoup = (length: number): fc.Arbitrary<string> =>
  fc.array(fc.integer({ min: 0xd7f0, max: 0xe00f }), { minLength: length, maxLength: length }).map((units) => String.fromCharCode(...units))
/** A very long string: `length` code points of one or of two UTF-16 units each. */
const longText = (length: number): fc.Arbitrary<string> => fc.constantFrom('x', '😀').map((unit) => unit.repeat(length))

function lengthsAround (schema: JsonSchema): number[] {
  const lengths = [0, 1, 2]
  for (const bound of [schema.minLength, schema.maxLength]) if (bound !== undefined) lengths.push(bound - 1, bound, bound + 1, 2 * bound, 2 * bound + 1)
  return lengths.filter((length) => length >= 0)
}

const anyJson = fc.jsonValue({ maxDepth: 2 })
const wrongTypes = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.object({ maxDepth: 1 }), fc.string())
const numbers = fc.oneof(
  fc.integer({ min: -5, max: 5 }), fc.integer(), fc.maxSafeInteger(), fc.double(),
  fc.constantFrom(-0, 0.5, -1, 2 ** 53, 2 ** 53 + 2, 1e21, 1e308, -1e21, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.bigInt({ min: 0n, max: 10n ** 30n }).map(Number)
)

/** Values the schema accepts (as far as this generator can tell: the comparison decides, not this). */
function valid (schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const)
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum)
  switch (schema.type) {
    case 'boolean': return fc.boolean()
    case 'integer': {
      const min = schema.minimum ?? Number.MIN_SAFE_INTEGER
      return fc.oneof(fc.constant(min), fc.integer({ min, max: min + 10 }), fc.maxSafeInteger().filter((n) => n >= min), fc.constantFrom(2 ** 53, 1e21, 1e300))
    }
    case 'string': {
      const min = schema.minLength ?? 0
      const max = schema.maxLength ?? Math.max(min, 300)
      return fc.oneof(
        fc.integer({ min, max: Math.min(max, min + 20) }).chain(stringOf),
        fc.constantFrom(min, max).chain(stringOf),
        ...(schema.maxLength === undefined ? [longText(20_000)] : [longText(max)])
      )
    }
    case 'object': {
      const required = new Set(schema.required ?? [])
      const shape: Record<string, fc.Arbitrary<unknown>> = {}
      for (const [name, property] of Object.entries(schema.properties ?? {})) shape[name] = valid(property)
      const extra = fc.dictionary(fc.string({ maxLength: 8 }).filter((key) => !(key in shape)), anyJson, { maxKeys: 3 })
      return fc.tuple(fc.record(shape, { requiredKeys: [...required] }), extra).map(([known, more]) => ({ ...more, ...known }))
    }
  }
  throw new Error(`no generator for ${JSON.stringify(schema)}`)
}

/** Values just outside what the schema accepts, and values of the wrong kind. */
function nearMiss (schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) {
    const text = String(schema.const)
    return fc.oneof(fc.constant(text.toUpperCase()), fc.constant(`${text} `), fc.constant(text.slice(1)), wrongTypes)
  }
  if (schema.enum !== undefined) {
    const first = String(schema.enum[0])
    return fc.oneof(fc.constantFrom('toString', '__proto__', 'constructor', 'hasOwnProperty', '', first.toUpperCase(), `${first}_`), wrongTypes)
  }
  switch (schema.type) {
    case 'boolean': return fc.oneof(fc.constantFrom(0, 1, 'true', 'false', null), wrongTypes)
    case 'integer': return fc.oneof(numbers, fc.constantFrom('1', '0', true, null), wrongTypes)
    case 'string': {
      const lengths = lengthsAround(schema)
      return fc.oneof(fc.constantFrom(...lengths).chain(stringOf), fc.constantFrom(...lengths).chain(unitSoup), fc.constantFrom(...lengths, 20_000).chain(longText), numbers, wrongTypes)
    }
  }
  return anyJson
}

/** A valid object with one thing wrong: a field removed, a field replaced by a near miss or by any JSON value. */
function mutated (schema: JsonSchema): fc.Arbitrary<unknown> {
  const names = Object.keys(schema.properties ?? {})
  return fc.tuple(valid(schema), fc.constantFrom(...names), fc.nat(2)).chain(([frame, name, how]) => {
    const property = (schema.properties as Record<string, JsonSchema>)[name] as JsonSchema
    const base = frame as Record<string, unknown>
    if (how === 0) {
      const { [name]: _, ...rest } = base
      return fc.constant(rest)
    }
    return (how === 1 ? nearMiss(property) : anyJson).map((value) => ({ ...base, [name]: value }))
  })
}

const union = Compile(Type.Union([AuthenticatedFrame, RenewRequiredFrame, RenewedFrame, AuthErrorFrame]))
const cases: Array<[string, TSchema, (frame: Record<string, unknown>) => boolean]> = [
  ['authenticated', AuthenticatedFrame, isAuthenticatedFrame],
  ['renew_required', RenewRequiredFrame, isRenewRequiredFrame],
  ['renewed', RenewedFrame, isRenewedFrame],
  ['auth_error', AuthErrorFrame, isAuthErrorFrame]
]

for (const [type, schema, check] of cases) {
  t.test(`${type}: the client's check equals the schema`, async (t) => {
    checkKeywords(schema as JsonSchema, type)
    const compiled = Compile(schema)
    const generators: Array<[string, fc.Arbitrary<unknown>]> = [
      ['valid frames', valid(schema as JsonSchema)],
      ['frames with one field removed or wrong', mutated(schema as JsonSchema)],
      ['any JSON object of this type', fc.object({ maxDepth: 2 }).map((value) => ({ ...value, type }))]
    ]
    for (const [name, generator] of generators) {
      const verdicts = { accepted: 0, refused: 0 }
      // Compared as the client receives frames: parsed from JSON text.
      fc.assert(fc.property(generator, (value) => {
        const frame = JSON.parse(JSON.stringify(value)) as Record<string, unknown>
        const expected = compiled.Check(frame)
        verdicts[expected ? 'accepted' : 'refused']++
        return check(frame) === expected && checkServerFrame(frame) === union.Check(frame)
      }), { numRuns: RUNS })
      t.pass(`${name}: ${RUNS} agree (${verdicts.accepted} accepted, ${verdicts.refused} refused)`)
      // Guards against generators that never reach one side of the schema.
      if (name === 'valid frames') t.equal(verdicts.refused, 0, 'every generated valid frame is valid')
      else if (name.startsWith('frames with')) t.ok(verdicts.refused > RUNS / 2 && verdicts.accepted > 0, 'both sides reached, mostly refusals')
    }
  })
}

t.test('anything that is not a server frame', async (t) => {
  fc.assert(fc.property(fc.oneof(anyJson, fc.object()), (value) => {
    const parsed = JSON.parse(JSON.stringify(value)) as unknown
    return checkServerFrame(parsed) === union.Check(parsed)
  }), { numRuns: RUNS })
  for (const value of [null, [], [{ type: 'renewed' }], 'renewed', 0, { type: 'auth' }, { type: 'renew', token: 'a.b.c' }, { type: 'toString' }, { type: '__proto__' }]) {
    t.equal(checkServerFrame(value), union.Check(value), JSON.stringify(value))
  }
})
