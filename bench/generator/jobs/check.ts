import { once } from 'node:events'
import { io } from 'socket.io-client'
import { WebSocket } from 'ws'
import { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL } from '../../../protocol/index.ts'
import { BENCH_ORIGIN, COOKIE_NAME, ROUTES, type CheckJob, type CheckResult } from '../../shared/protocol.ts'
import { nowSeconds, userClaims, type GeneratorContext } from '../context.ts'

const TIMEOUT_MS = 5000

function withTimeout<T> (promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`timed out waiting for ${what}`)) }, TIMEOUT_MS) })
  return Promise.race([promise, timeout]).finally(() => { clearTimeout(timer) })
}

/**
 * End-to-end check of a target with a real client (`ws`, or socket.io-client): the raw
 * client's shortcuts (zero masks, no Sec-WebSocket-Accept check) must not hide a server
 * that does not actually work. Authenticates, echoes one message, renews once (plugin).
 */
export async function runCheck (job: CheckJob, context: GeneratorContext): Promise<CheckResult> {
  const steps: string[] = []
  try {
    if (job.client.dialect === 'socketio') await checkSocketIo(job, context, steps)
    else await checkWebSocket(job, context, steps)
    return { ok: true, steps }
  } catch (err) {
    return { ok: false, steps, error: (err as Error).message }
  }
}

async function checkWebSocket ({ client }: CheckJob, context: GeneratorContext, steps: string[]): Promise<void> {
  const factory = context.tokens(client.algorithm)
  const claims = userClaims(1, nowSeconds() + 600)
  const token = factory.sign(claims)
  const headers: Record<string, string> = {}
  if (client.origin) headers.origin = BENCH_ORIGIN
  if (client.credential === 'cookie') headers.cookie = `${COOKIE_NAME}=${token}`
  const protocols = client.credential === 'cookie' ? [SUBPROTOCOL] : [SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${token}`]
  const socket = new WebSocket(`ws://127.0.0.1:${client.port}${ROUTES.echo}`, protocols, { headers })
  const messages: string[] = []
  const waiters: Array<() => void> = []
  socket.on('message', (data: Buffer) => {
    messages.push(data.toString())
    for (const wake of waiters.splice(0)) wake()
  })
  const next = async (what: string): Promise<string> => {
    while (messages.length === 0) await withTimeout(new Promise<void>((resolve) => waiters.push(resolve)), what)
    return messages.shift() as string
  }
  try {
    await withTimeout(once(socket, 'open'), 'open')
    if (socket.protocol !== SUBPROTOCOL) throw new Error(`selected subprotocol "${socket.protocol}"`)
    steps.push(`open, subprotocol ${socket.protocol}`)
    if (client.dialect === 'wsauth') {
      const first = JSON.parse(await next('authenticated')) as { type?: string, subject?: string }
      if (first.type !== 'authenticated' || first.subject !== claims.sub) throw new Error(`first frame ${JSON.stringify(first)}`)
      steps.push('authenticated')
    }
    socket.send('ping-e2e')
    const echo = await next('echo')
    if (echo !== 'ping-e2e') throw new Error(`echo was ${echo}`)
    steps.push('echo')
    if (client.dialect === 'wsauth') {
      socket.send(JSON.stringify({ type: 'renew', token: factory.sign({ ...claims, exp: claims.exp + 60 }), id: 'check' }))
      const renewed = JSON.parse(await next('renewed')) as { type?: string, id?: string }
      if (renewed.type !== 'renewed' || renewed.id !== 'check') throw new Error(`renewal answered ${JSON.stringify(renewed)}`)
      steps.push('renewed')
    }
  } finally {
    socket.close()
  }
}

async function checkSocketIo ({ client }: CheckJob, context: GeneratorContext, steps: string[]): Promise<void> {
  const token = context.tokens(client.algorithm).sign(userClaims(1, nowSeconds() + 600))
  const socket = io(`http://127.0.0.1:${client.port}`, {
    transports: ['websocket'],
    auth: { token },
    query: { mode: 'echo' },
    extraHeaders: { origin: BENCH_ORIGIN },
    reconnection: false
  })
  try {
    await withTimeout(new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('connect_error', reject)
    }), 'connect')
    steps.push('connected (auth middleware passed)')
    const echo = withTimeout(new Promise<unknown>((resolve) => socket.once('e', resolve)), 'echo')
    socket.emit('e', 'ping-e2e')
    if (await echo !== 'ping-e2e') throw new Error('wrong echo')
    steps.push('echo')
  } finally {
    socket.disconnect()
  }
}
