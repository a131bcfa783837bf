import type { FastifyInstance } from 'fastify'
import type { WebSocket } from 'ws'
import type { WsAuthClaims } from '../plugin/index.ts'

/** The feed's topics and the scope each needs. */
export const TOPICS: Readonly<Record<string, string>> = Object.freeze({
  ticker: 'feed:read',
  premium: 'market:premium'
})

export function hasScope (claims: WsAuthClaims, scope: string): boolean {
  return typeof claims.scope === 'string' && claims.scope.split(' ').includes(scope)
}

interface Subscriber {
  socket: WebSocket
  subject: string
  topics: Set<string>
}

const send = (socket: WebSocket, message: unknown): void => {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message))
}

/**
 * `/feed`: an authenticated WebSocket route. Every `tickInterval` ms each topic publishes a
 * `{"type":"tick","topic","seq","at","price","subject"}` to its subscribers. A connection starts
 * subscribed to `ticker`; `{"type":"subscribe"|"unsubscribe","topic"}` change that, with the
 * topic's scope checked on subscribe and again after every renewal (a renewal that drops a
 * scope ends that subscription with `{"type":"unsubscribed","reason":"scope_removed"}`).
 * Any other text message is echoed as `{"type":"echo","data"}`. The protocol's own frames
 * (`renew`, `renewed`, …) are handled by the plugin and never reach this handler.
 */
export function registerFeed (app: FastifyInstance, tickInterval: number): void {
  const subscribers = new Set<Subscriber>()
  const sequence = new Map<string, number>()
  const prices = new Map<string, number>(Object.keys(TOPICS).map((topic, i) => [topic, 100 + i * 50]))

  const timer = setInterval(() => {
    const at = Date.now()
    for (const topic of Object.keys(TOPICS)) {
      const seq = (sequence.get(topic) ?? 0) + 1
      sequence.set(topic, seq)
      const price = Math.round(((prices.get(topic) as number) + (Math.random() - 0.5)) * 100) / 100
      prices.set(topic, price)
      for (const subscriber of subscribers) {
        if (subscriber.topics.has(topic)) send(subscriber.socket, { type: 'tick', topic, seq, at, price, subject: subscriber.subject })
      }
    }
  }, tickInterval)
  app.addHook('onClose', async () => { clearInterval(timer) })

  app.get('/feed', { websocket: true, wsAuth: true }, (socket, request) => {
    const connection = request.wsAuth
    const subscriber: Subscriber = { socket, subject: connection.subject, topics: new Set() }
    subscribers.add(subscriber)

    const subscribe = (topic: unknown): void => {
      if (typeof topic !== 'string' || !(topic in TOPICS)) {
        send(socket, { type: 'error', code: 'unknown_topic', topic })
      } else if (!hasScope(connection.claims, TOPICS[topic] as string)) {
        send(socket, { type: 'error', code: 'forbidden_topic', topic, scope: TOPICS[topic] })
      } else {
        subscriber.topics.add(topic)
        send(socket, { type: 'subscribed', topic })
      }
    }
    subscribe('ticker')

    connection.on('renewed', (claims) => {
      for (const topic of subscriber.topics) {
        if (!hasScope(claims, TOPICS[topic] as string)) {
          subscriber.topics.delete(topic)
          send(socket, { type: 'unsubscribed', topic, reason: 'scope_removed' })
        }
      }
    })
    socket.on('close', () => { subscribers.delete(subscriber) })
    socket.on('message', (data, isBinary) => {
      if (isBinary) return
      const text = data.toString()
      let message: { type?: unknown, topic?: unknown } | undefined
      try { message = JSON.parse(text) } catch {}
      if (message?.type === 'subscribe') subscribe(message.topic)
      else if (message?.type === 'unsubscribe' && typeof message.topic === 'string' && subscriber.topics.delete(message.topic)) {
        send(socket, { type: 'unsubscribed', topic: message.topic, reason: 'requested' })
      } else send(socket, { type: 'echo', data: text })
    })
  })
}
