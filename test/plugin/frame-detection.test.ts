import t from 'tap'
import { RESERVED_FRAME_TYPES } from '../../protocol/index.ts'
import { mayBeReservedFrame } from '../../plugin/frame-detection.ts'

// The per-message filter must never miss a JSON object whose decoded `type` is reserved
// (it would reach the application, token and all), and should parse as few application
// messages as it can.

const escape = (char: string, upper = false): string => {
  const hex = char.charCodeAt(0).toString(16).padStart(4, '0')
  return `\\u${upper ? hex.toUpperCase() : hex}`
}

/** Every way the tests spell a reserved type's value inside a JSON string. */
function spellings (type: string): string[] {
  const out = [type, [...type].map((c) => escape(c)).join(''), [...type].map((c) => escape(c, true)).join('')]
  for (let i = 0; i < type.length; i++) out.push(`${type.slice(0, i)}${escape(type[i] as string)}${type.slice(i + 1)}`)
  return out
}

t.test('every spelling of every reserved type is caught, whatever the layout', async (t) => {
  for (const type of RESERVED_FRAME_TYPES) {
    for (const value of spellings(type)) {
      const layouts = [
        `{"type":"${value}","token":"x"}`,
        `{ "type" : "${value}" , "token" : "x" }`,
        `{\n\t"token":"x",\n\t"type":\t"${value}"\n}`,
        `{"typ\\u0065":"${value}"}`,
        `{"pad":"${'p'.repeat(100_000)}","type":"${value}"}`
      ]
      for (const text of layouts) {
        t.equal((JSON.parse(text) as { type: string }).type, type, 'the layout decodes to the type')
        if (!mayBeReservedFrame(Buffer.from(text))) t.fail(`missed ${text.slice(0, 80)}`)
      }
    }
  }
  t.pass('none missed')
})

t.test('application messages that only look alike are not parsed', async (t) => {
  const messages = [
    'hello',
    '{"type":"chat","text":"hi"}',
    '{"type":"chat","author":"ann","authority":"x"}',
    '{"type":"renewal_stats","n":1}',
    '{"type":"chat","path":"C:\\\\u0072enew"}',
    '{"type":"chat","text":"caf\\u00e9 \\u001f"}',
    'please "renew my subscription'
  ]
  for (const text of messages) t.equal(mayBeReservedFrame(Buffer.from(text)), false, text)
})
