import { Redis, type Cluster } from 'ioredis'

export interface ShardChannelHandlers {
  message: (text: string) => void
  /** The subscription is (again) in place: messages from now on arrive. */
  subscribed: () => void
  error: (error: Error) => void
}

interface Address {
  host: string
  port: number
}

const RETRY_MS = 100
const MAX_REDIRECTS = 5

function mapped (cluster: Cluster, address: Address): Address {
  const natMap = cluster.options.natMap
  const key = `${address.host}:${address.port}`
  const to = typeof natMap === 'function' ? natMap(key) : natMap?.[key]
  return to === undefined || to === null ? address : { host: to.host, port: to.port }
}

/**
 * Listens on one shard channel of a Redis Cluster (SSUBSCRIBE, Redis >= 7), on a connection
 * of its own to a node of the shard that owns the channel's slot. It does not lean on
 * ioredis's cluster subscriber: the store must know when the subscription was lost and is
 * back (to re-check live connections), and ioredis resubscribes silently. Any loss (the
 * node died, or Redis moved the slot away and said so with an unsolicited SUNSUBSCRIBE,
 * which ioredis reports as `moved`) drops the connection and starts over from the nodes the
 * cluster client knows, following MOVED to the shard now serving the slot.
 */
export function subscribeShardChannel (cluster: Cluster, channel: string, handlers: ShardChannelHandlers): () => void {
  let stopped = false
  let current: Redis | undefined
  let last: Address | undefined
  let attempt = 0
  let timer: NodeJS.Timeout | undefined

  const candidates = (): Address[] => {
    const known = cluster.nodes().map((node) => ({ host: node.options.host ?? '127.0.0.1', port: node.options.port ?? 6379 }))
    return last === undefined ? known : [last, ...known]
  }

  const schedule = (): void => {
    if (stopped) return
    const list = candidates()
    const target = list[attempt % Math.max(list.length, 1)]
    const delay = attempt === 0 && target !== undefined ? 0 : RETRY_MS
    attempt++
    timer = setTimeout(() => {
      timer = undefined
      if (target === undefined) schedule()
      else connect(target, 0)
    }, delay)
  }

  const connect = (target: Address, redirects: number): void => {
    if (stopped) return
    const subscriber = new Redis({
      ...cluster.options.redisOptions,
      host: target.host,
      port: target.port,
      autoResubscribe: false,
      // Reconnection is ours: the node may be gone for good after a failover.
      retryStrategy: () => null,
      maxRetriesPerRequest: 0
    })
    current = subscriber
    let done = false
    // A MOVED answer to SSUBSCRIBE is also reported as `moved`: the answer is followed instead.
    let subscribing = true
    const finish = (): void => {
      done = true
      if (current === subscriber) current = undefined
      subscriber.disconnect()
    }
    const lost = (): void => {
      if (done) return
      finish()
      schedule()
    }
    subscriber.on('error', (err: Error) => { handlers.error(err) })
    subscriber.on('end', lost)
    subscriber.on('moved', () => { if (!subscribing) lost() })
    subscriber.on('smessage', (name: string, text: string) => { if (name === channel) handlers.message(text) })
    subscriber.once('ready', () => {
      // Only on the master: a replica (the old master just after a failover) may not be
      // linked to the new one yet, and would miss what is published until it is.
      subscriber.call('ROLE').then((role) => {
        if (done) return
        const [kind, host, port] = role as [string, string, number]
        if (kind !== 'master' && redirects < MAX_REDIRECTS) {
          finish()
          connect(mapped(cluster, { host, port: Number(port) }), redirects + 1)
          return
        }
        subscribe()
      }, (err: Error) => {
        if (done) return
        handlers.error(err)
        lost()
      })
    })
    const subscribe = (): void => {
      subscriber.ssubscribe(channel).then(() => {
        subscribing = false
        if (done) return
        last = target
        attempt = 0
        handlers.subscribed()
      }, (err: Error) => {
        subscribing = false
        if (done) return
        const moved = /^MOVED \d+ (.+):(\d+)$/.exec(err.message)
        if (moved !== null && redirects < MAX_REDIRECTS) {
          finish()
          connect(mapped(cluster, { host: moved[1] as string, port: Number(moved[2]) }), redirects + 1)
          return
        }
        handlers.error(err)
        lost()
      })
    }
  }

  schedule()
  return () => {
    stopped = true
    if (timer !== undefined) clearTimeout(timer)
    current?.disconnect()
    current = undefined
  }
}
