import type { Family } from '../family.ts'
import { handshakePlanArbitrary, makeHandshake, type HandshakePlan } from '../headers.ts'
import { ROUTES } from '../target.ts'
import { checkAccepted, checkDeliveries, checkUpgradeAnswer, open, settle } from './sockets.ts'

// Node's HTTP parser answers a header with control characters with a bare 400 before any
// of this library runs (a request that is not HTTP): kept out, so every answer is ours.
const printable = (text: string): string => {
  let out = ''
  for (const char of text) {
    const code = char.charCodeAt(0)
    out += (code < 0x20 && code !== 0x09) || code === 0x7f ? '?' : char
  }
  return out
}

export function handshakeFamily (): Family<HandshakePlan> {
  return {
    name: 'handshake',
    description: 'upgrade requests over real sockets: Sec-WebSocket-Protocol in one or two header lines, cookies, queries, Origins, token shapes and mutations, header sizes up to past 16 KiB',
    kind: 'socket',
    weight: 1.2,
    concurrency: 32,
    arbitrary: (index) => handshakePlanArbitrary(`hs-${index}`),
    async run (plan, env) {
      const sentAt = Date.now()
      const made = makeHandshake(plan, sentAt)
      const lines = made.protocolHeaders.map((value) => `Sec-WebSocket-Protocol: ${printable(value)}`)
      if (made.cookie !== undefined) lines.push(`Cookie: ${printable(made.cookie)}`)
      if (made.origin !== undefined) lines.push(`Origin: ${made.origin}`)
      if (made.padding > 0) lines.push(`X-Padding: ${'p'.repeat(made.padding)}`)
      const path = `${plan.authFrameRoute ? ROUTES.authFrame : ROUTES.handshake}${made.query === undefined ? '' : `?${made.query}`}`
      const client = open(env, path, lines)
      await client.until(() => client.response !== undefined)
      const offered = made.protocolHeaders.flatMap((value) => value.split(',').map((entry) => entry.trim()))
      checkUpgradeAnswer(client, offered)
      if (client.response?.status !== 101) {
        client.socket.destroy()
        return
      }
      const summary = await settle(client)
      const answeredAt = Date.now()
      const subject = checkAccepted(summary, made.tokens.map(printable), sentAt, answeredAt)
      if (subject !== undefined) checkDeliveries(env, subject)
    }
  }
}
