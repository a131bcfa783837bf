import fc from 'fast-check'
import { FrameType, MAX_CLIENT_FRAME_BYTES } from '../protocol/index.ts'

// Text messages in every spelling JSON allows: member names and values with `\uXXXX`
// escapes (either letter case), whitespace anywhere between tokens, members in any order,
// duplicate `type` members, nesting, and sizes up to past the protocol's frame limit.

export const RESERVED_TYPES: readonly string[] = Object.values(FrameType)
const NEAR_MISSES = ['authx', 'renewal', 'Renew', 'AUTH', 'auth ', ' renew', 'renew_', 'auth_err', 'renewed_', 'authenticate', 'chat', '']

export interface Spelling {
  /** Per character: escape it (`\u` + hex), with this probability in 1/8ths. */
  readonly escapes: number
  readonly upperHex: boolean
  readonly spaces: readonly string[]
}

const spellingArbitrary: fc.Arbitrary<Spelling> = fc.record({
  escapes: fc.nat({ max: 8 }),
  upperHex: fc.boolean(),
  spaces: fc.array(fc.constantFrom('', '', ' ', '\n', '\t', '\r', '  '), { minLength: 1, maxLength: 4 })
})

function quote (text: string, spelling: Spelling, salt: number): string {
  let out = '"'
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    const escape = ((salt + i * 7) % 8) < spelling.escapes
    if (code < 0x20 || code === 0x22 || code === 0x5c || escape) {
      const hex = code.toString(16).padStart(4, '0')
      out += `\\u${spelling.upperHex ? hex.toUpperCase() : hex}`
    } else {
      out += text[i]
    }
  }
  return out + '"'
}

/** An object as an entry list: duplicate member names are kept, in order. */
export class Entries {
  constructor (readonly list: ReadonlyArray<readonly [string, unknown]>) {}
}

/** JSON text written as it is (the padding: escaping it character by character would be the run's main cost). */
class RawJson {
  constructor (readonly text: string) {}
}

/** A JSON text of `value`, written with `spelling`. */
export function spell (value: unknown, spelling: Spelling, salt = 0): string {
  const ws = (n: number): string => spelling.spaces[(salt + n) % spelling.spaces.length] as string
  if (typeof value === 'string') return quote(value, spelling, salt)
  if (value instanceof RawJson) return value.text
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) {
    return `[${ws(1)}${value.map((v, i) => spell(v, spelling, salt + i + 1)).join(`${ws(2)},${ws(3)}`)}${ws(4)}]`
  }
  const members = value instanceof Entries ? value.list : Object.entries(value)
  return `{${ws(1)}${members.map(([k, v], i) => `${quote(k, spelling, salt + i)}${ws(i)}:${ws(i + 1)}${spell(v, spelling, salt + i + 3)}`).join(`${ws(2)},${ws(3)}`)}${ws(4)}}`
}

export interface MessagePlan {
  readonly members: ReadonlyArray<readonly [string, unknown]>
  readonly spelling: Spelling
  /** Padding member (`pad`) of this many characters: sizes around the frame limit. */
  readonly pad: number
  /** Wrap the object in an array or another object (not a frame then). */
  readonly wrap: 'none' | 'array' | 'nested'
}

const padSizes = fc.oneof(
  { weight: 10, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.nat({ max: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_CLIENT_FRAME_BYTES - 120, max: MAX_CLIENT_FRAME_BYTES + 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(65_536, 200_000) }
)

const scalar: fc.Arbitrary<unknown> = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null), fc.double())

/** An object that is (or nearly is) a protocol frame, spelt any way JSON allows. */
export function messagePlanArbitrary (token: fc.Arbitrary<string> = fc.string({ maxLength: 30 })): fc.Arbitrary<MessagePlan> {
  const typeValue = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...RESERVED_TYPES) },
    { weight: 2, arbitrary: fc.constantFrom(...NEAR_MISSES) },
    { weight: 1, arbitrary: scalar }
  )
  const member = fc.oneof(
    fc.tuple(fc.constant('token'), fc.oneof(token, scalar)),
    fc.tuple(fc.constant('id'), fc.oneof(fc.string({ maxLength: 70 }), scalar)),
    fc.tuple(fc.constantFrom('type', 'typ', 'Type', 'type ', 'data'), typeValue),
    fc.tuple(fc.string({ maxLength: 6 }), scalar)
  )
  return fc.record({
    members: fc.tuple(fc.array(member, { maxLength: 3 }), fc.option(typeValue, { freq: 6, nil: undefined }), fc.array(member, { maxLength: 3 }))
      .map(([before, type, after]) => type === undefined ? [...before, ...after] : [...before, ['type', type] as const, ...after]),
    spelling: spellingArbitrary,
    pad: padSizes,
    wrap: fc.constantFrom<MessagePlan['wrap']>('none', 'none', 'none', 'none', 'none', 'array', 'nested')
  })
}

export function messageText (plan: MessagePlan): string {
  const members = plan.pad > 0 ? [...plan.members, ['pad', new RawJson(`"${'x'.repeat(plan.pad)}"`)] as const] : plan.members
  const text = spell(new Entries(members), plan.spelling)
  if (plan.wrap === 'array') return `[${text}]`
  if (plan.wrap === 'nested') return `{"frame":${text}}`
  return text
}
