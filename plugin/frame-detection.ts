import { RESERVED_FRAME_TYPES } from '../protocol/index.ts'

// Protocol frames are recognised without parsing every application message. A JSON text
// whose decoded `type` is reserved must contain that type's value as a JSON string, and a
// JSON string can spell a letter only literally or as a `\uXXXX` escape. So a text message
// is parsed only if it contains a reserved value written literally, quote to quote
// (`"renew"`, not the `"renew` of `"renewal_stats"`), or an escape that spells a character
// of one (`\u005f` to `\u007a`: `_` and the lower-case letters). Whitespace, key order and
// escapes in the key (`"typ\u0065"`) cannot hide a frame: the value is what is searched.
// Hand-written: no library finds a member of a JSON text without parsing all of it.

const QUOTE = 0x22
const BACKSLASH = 0x5c
const LOWER_U = 0x75
const DIGIT_0 = 0x30
const DIGIT_5 = 0x35
const DIGIT_7 = 0x37

interface Stem {
  /** A quote and the stem, searched for. */
  readonly needle: Buffer
  /** What may follow the stem to complete a reserved value, closing quote included. */
  readonly endings: readonly Buffer[]
}

// Every reserved type starts with one of two stems, so two needle searches cover all six.
const STEM_NAMES = ['auth', 'renew']
const STEMS: readonly Stem[] = STEM_NAMES.map((stem) => ({
  needle: Buffer.from(`"${stem}`),
  endings: [...RESERVED_FRAME_TYPES].filter((type) => type.startsWith(stem)).map((type) => Buffer.from(`${type.slice(stem.length)}"`))
}))
for (const type of RESERVED_FRAME_TYPES) {
  // Fails at load, not silently on the wire, if a new reserved type has neither stem.
  if (!STEM_NAMES.some((stem) => type.startsWith(stem))) throw new Error(`reserved frame type "${type}" is not covered by frame detection`)
}

function hasReservedValue (data: Buffer, from: number, stem: Stem): boolean {
  const { needle, endings } = stem
  for (let at = data.indexOf(needle, from); at !== -1; at = data.indexOf(needle, at + 1)) {
    const start = at + needle.length
    for (let i = 0; i < endings.length; i++) {
      const ending = endings[i] as Buffer
      const end = start + ending.length
      if (end <= data.length && data.compare(ending, 0, ending.length, start, end) === 0) return true
    }
  }
  return false
}

function hasLetterEscape (data: Buffer, from: number): boolean {
  // Steps over each escape's second character, so the `u` of an escaped backslash (`\\u0072`) is not read as one.
  for (let at = data.indexOf(BACKSLASH, from); at !== -1 && at + 4 < data.length; at = data.indexOf(BACKSLASH, at + 2)) {
    if (data[at + 1] === LOWER_U && data[at + 2] === DIGIT_0 && data[at + 3] === DIGIT_0) {
      const digit = data[at + 4] as number
      if (digit >= DIGIT_5 && digit <= DIGIT_7) return true
    }
  }
  return false
}

/**
 * Whether a text message may be a protocol frame, and so must be parsed before it can go to
 * the application. Never false for a JSON object whose `type` is reserved, whatever its
 * size or spelling. A message without a quote is settled by one byte search (memchr); one
 * with quotes by two needle searches and a memchr for a backslash, all from the first quote.
 */
export function mayBeReservedFrame (data: Buffer): boolean {
  const quote = data.indexOf(QUOTE)
  if (quote === -1) return false
  for (let i = 0; i < STEMS.length; i++) {
    if (hasReservedValue(data, quote, STEMS[i] as Stem)) return true
  }
  return hasLetterEscape(data, quote)
}
