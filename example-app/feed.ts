import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { WebSocket } from 'ws'
import type { AuthenticatedWebsocketHandler, WsAuthClaims } from '../plugin/index.ts'

/** The feed for clients that authenticate with an `auth` frame after the upgrade. */
export const AUTH_FRAME_PATH = '/feed/auth-frame'

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

/** One feed event, as every instance delivers it to its subscribers of `topic`. */
interface Tick {
  type: 'tick'
  topic: string
  seq: number
  at: number
  price: number
  /** The instance that produced it. */
  source: string
}

/**
 * Claims (or keeps) the ticker for one instance: with several instances, exactly one
 * produces the ticks and all of them deliver. The claim lapses after three missed
 * intervals, so another instance takes over from one that stopped.
 */
const LEAD = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`
const CHANNEL = 'example:feed'
const LEADER_KEY = 'example:feed:leader'

type LeadingRedis = Redis & { exampleLead: (key: string, instance: string, ttl: string) => Promise<number> }

/**
 * `/feed`: an authenticated WebSocket route. Every `tickInterval` ms each topic publishes a
 * `{"type":"tick","topic","seq","at","price","source","subject"}` to its subscribers
 * (`source`: the instance that produced it; `subject`: the receiving connection's). With
 * `redis`, one instance produces the ticks and they fan out through Redis pub/sub to the
 * subscribers of every instance. A connection starts
 * subscribed to `ticker`; `{"type":"subscribe"|"unsubscribe","topic"}` change that, with the
 * topic's scope checked on subscribe and again after every renewal (a renewal that drops a
 * scope ends that subscription with `{"type":"unsubscribed","reason":"scope_removed"}`).
 * Any other text message is echoed as `{"type":"echo","data"}`. The protocol's own frames
 * (`renew`, `renewed`, …) are handled by the plugin and never reach this handler.
 */
export function registerFeed (app: FastifyInstance, tickInterval: number, redis?: Redis): void {
  const instance = randomUUID()
  const subscribers = new Set<Subscriber>()
  const sequence = new Map<string, number>()
  const prices = new Map<string, number>(Object.keys(TOPICS).map((topic, i) => [topic, 100 + i * 50]))

  const deliver = (tick: Tick): void => {
    for (const subscriber of subscribers) {
      if (subscriber.topics.has(tick.topic)) send(subscriber.socket, { ...tick, subject: subscriber.subject })
    }
  }
  const produce = (): Tick[] => {
    const at = Date.now()
    return Object.keys(TOPICS).map((topic) => {
      const seq = (sequence.get(topic) ?? 0) + 1
      sequence.set(topic, seq)
      const price = Math.round(((prices.get(topic) as number) + (Math.random() - 0.5)) * 100) / 100
      prices.set(topic, price)
      return { type: 'tick', topic, seq, at, price, source: instance }
    })
  }

  let tick: () => void
  if (redis === undefined) {
    tick = () => { for (const event of produce()) deliver(event) }
  } else {
    const leading = redis as LeadingRedis
    leading.defineCommand('exampleLead', { numberOfKeys: 1, lua: LEAD })
    const listener = redis.duplicate({ lazyConnect: false, enableOfflineQueue: true })
    listener.on('error', () => {}) // the main client logs Redis problems
    listener.on('message', (_channel: string, text: string) => {
      try {
        deliver(JSON.parse(text) as Tick)
      } catch {}
    })
    listener.subscribe(CHANNEL).catch((error: Error) => { app.log.warn({ event: 'feed_subscribe_failed', err: { message: error.message } }, 'feed: cannot subscribe') })
    app.addHook('onClose', async () => { listener.disconnect() })
    tick = () => {
      if (redis.status !== 'ready') return
      leading.exampleLead(LEADER_KEY, instance, String(tickInterval * 3)).then(async (leader) => {
        if (leader !== 1) return
        const pipeline = redis.pipeline()
        for (const event of produce()) pipeline.publish(CHANNEL, JSON.stringify(event))
        await pipeline.exec()
      }).catch(() => {})
    }
  }
  const timer = setInterval(tick, tickInterval)
  app.addHook('onClose', async () => { clearInterval(timer) })

  const serve: AuthenticatedWebsocketHandler = (socket, request) => {
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
  }
  app.get('/feed', { websocket: true, wsAuth: true }, serve)
  // The same feed for clients that can set neither subprotocols nor cookies: they send an
  // `auth` frame as their first message (SPEC §2.3, flow 6).
  app.get(AUTH_FRAME_PATH, { websocket: true, wsAuth: { authFrame: true } }, serve)
}
