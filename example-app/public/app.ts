// The example page: bundled with the reference client by esbuild (example-app/page.ts).
import { WsAuthClient, type ClientEvents, type CloseInfo, type Transport } from '../../client/index.ts'
import { Timeline } from './timeline.ts'

const $ = <T extends Element = HTMLElement>(id: string): T => document.getElementById(id) as unknown as T

interface LoginReply { accessToken?: string, expiresAt: number, subject: string, sessionId: string }
/** What the example app's `/auth/*` routes answer on failure: Fastify's error shape, as the handshake's refusals. */
interface ErrorReply { statusCode?: number, code?: string, error?: string, message?: string }
/** What the feed sends when it refuses a request (for example a topic the token's scope does not cover). */
interface FeedMessage { type: string, topic?: string, price?: number, seq?: number, reason?: string, code?: string, scope?: string }

/** Why a connection closed, for the closes that carry no `auth_error` with a message of its own. */
const CLOSE_MESSAGES: Record<number, string> = {
  1000: 'Closed normally',
  1001: 'The server is going away',
  1002: 'The server does not speak wsauth.v1',
  1006: 'The connection was lost, or refused before it opened',
  1011: 'The server hit an internal error'
}

const timeline = new Timeline($<SVGSVGElement>('timeline'))
/** The current session's client; a login replaces it, so nothing of the previous one shows. */
let client: WsAuthClient | undefined
let renewals = 0
/** The last `error` event's message: a close it causes (no token, say) has none of its own. */
let lastError: string | undefined

function log (list: string, text: string): void {
  const item = document.createElement('li')
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`
  const target = $(list)
  target.prepend(item)
  while (target.children.length > 50) target.lastElementChild?.remove()
}

/** Shows a problem on the page itself, not only in the event log; `undefined` clears it. */
function showError (text: string | undefined): void {
  $('error').textContent = text ?? ''
  if (text !== undefined) log('events', text)
}

async function post (path: string, body: unknown): Promise<Response> {
  return await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' })
}

async function failure (response: Response): Promise<string> {
  const body = await response.json().catch(() => ({})) as ErrorReply
  return `${body.message ?? response.statusText} (${body.code ?? response.status})`
}

function describeClose (info: CloseInfo): string {
  // The client's own 1006 closes (no token, no socket) follow the `error` event that says why.
  const own = info.code === 1006 && info.reason !== '' ? lastError : undefined
  const why = info.authError?.message ?? own ?? CLOSE_MESSAGES[info.code] ?? 'Closed by the server'
  const code = `${info.code}${info.reason === '' ? '' : ` ${info.reason}`}`
  return info.willRetry
    ? `Connection lost: ${why} (${code}); reconnecting in ${((info.retryIn ?? 0) / 1000).toFixed(1)} s`
    : `Disconnected: ${why} (${code})`
}

function setState (state: string): void {
  const element = $('state')
  element.textContent = state
  element.dataset.state = state
  // Sending works only on an open connection; the client would queue or throw otherwise.
  $<HTMLButtonElement>('subscribe-premium').disabled = state !== 'open'
}

/** Clears everything the previous session showed. */
function resetPanel (mode: Transport): void {
  setState('idle')
  $('identity').textContent = '–'
  $('socket-id').textContent = '–'
  $('countdown').textContent = '–'
  $('renewals').textContent = '0'
  $('transport').textContent = mode === 'cookie' ? 'HttpOnly cookie (server-side renewal)' : 'subprotocol (renew frames)'
  $<HTMLButtonElement>('logout').disabled = false
  $('feed').replaceChildren()
  renewals = 0
  lastError = undefined
  showError(undefined)
  timeline.reset()
}

function start (mode: Transport, login: LoginReply): void {
  // Listeners of a previous client check `client === session` and go quiet before it is closed.
  const previous = client
  client = undefined
  previous?.close()
  resetPanel(mode)
  // The event log alone keeps the earlier sessions, as history.
  log('events', `logged in as ${login.subject}: a new session`)
  $('login-panel').hidden = true
  $('session-panel').hidden = false

  let firstToken = login.accessToken
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/feed`
  const refresh = async (refreshMode: 'token' | 'cookie'): Promise<LoginReply> => {
    const response = await post('/auth/refresh', { mode: refreshMode })
    if (!response.ok) throw new Error(await failure(response))
    return await response.json() as LoginReply
  }
  const session = new WsAuthClient(mode === 'cookie'
    ? { url, transport: 'cookie', refresh: async () => { await refresh('cookie') } }
    : {
        url,
        getToken: async () => {
          // The login's token first, then one per renewal from the refresh endpoint.
          if (firstToken !== undefined) {
            const token = firstToken
            firstToken = undefined
            return token
          }
          return (await refresh('token')).accessToken as string
        }
      })
  client = session
  const on = <E extends keyof ClientEvents>(event: E, listener: (...args: ClientEvents[E]) => void): void => {
    session.on(event, (...args) => { if (client === session) listener(...args) })
  }

  on('state', setState)
  on('authenticated', (frame) => {
    $('identity').textContent = `${frame.subject}${frame.sessionId === undefined ? '' : ` · session ${frame.sessionId.slice(0, 8)}…`}`
    $('socket-id').textContent = frame.connectionId
    lastError = undefined
    showError(undefined)
    timeline.authenticated(frame.expiresIn)
    log('events', `authenticated as ${frame.subject}, expires in ${Math.round(frame.expiresIn / 1000)} s`)
  })
  on('renew_required', (frame) => {
    timeline.renewRequired()
    log('events', `renew_required: ${Math.round(frame.expiresIn / 1000)} s left`)
  })
  on('renewed', (frame) => {
    renewals++
    $('renewals').textContent = String(renewals)
    timeline.renewed(frame.expiresIn)
    log('events', `renewed: expires in ${Math.round(frame.expiresIn / 1000)} s`)
  })
  on('auth_error', (frame) => {
    // A closing one is shown with its close; any other is a refused renewal.
    if (frame.closing) log('events', `auth_error ${frame.code} (closing): ${frame.message}`)
    else showError(`Renewal refused: ${frame.message} (${frame.code})`)
  })
  on('error', (error) => {
    lastError = error.message
    showError(`${error.name}: ${error.message}`)
  })
  on('close', (info) => {
    timeline.closed(info.code)
    $('identity').textContent = '–'
    $('socket-id').textContent = '–'
    showError(describeClose(info))
    lastError = undefined
  })
  on('message', (data) => {
    if (typeof data !== 'string') return
    const message = JSON.parse(data) as FeedMessage
    if (message.type === 'tick') log('feed', `${message.topic} #${message.seq} ${message.price?.toFixed(2)}`)
    else if (message.type === 'error') showError(`The feed refused: ${message.code === 'forbidden_topic' ? `topic ${message.topic} needs the scope ${message.scope}` : `topic ${message.topic}`} (${message.code})`)
    else log('events', `${message.type}${message.topic === undefined ? '' : ` ${message.topic}`}${message.reason === undefined ? '' : ` (${message.reason})`}`)
  })
  session.connect()
}

setInterval(() => {
  const expiresAt = client?.expiresAt
  $('countdown').textContent = expiresAt === undefined ? '–' : `${Math.max(0, (expiresAt - Date.now()) / 1000).toFixed(1)} s`
  timeline.render()
}, 200)

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const mode = (document.querySelector('input[name="mode"]:checked') as HTMLInputElement).value as 'token' | 'cookie'
  const username = $<HTMLInputElement>('username').value
  const password = $<HTMLInputElement>('password').value
  $('login-error').textContent = ''
  post('/auth/login', { username, password, mode }).then(async (response) => {
    if (!response.ok) {
      $('login-error').textContent = `Login failed: ${await failure(response)}`
      return
    }
    start(mode === 'cookie' ? 'cookie' : 'subprotocol', await response.json() as LoginReply)
  }).catch((error: unknown) => { $('login-error').textContent = `Login failed: ${String(error)}` })
})

$('subscribe-premium').addEventListener('click', () => {
  try {
    client?.send(JSON.stringify({ type: 'subscribe', topic: 'premium' }))
  } catch (error) {
    showError(`Cannot send: ${(error as Error).message}`)
  }
})

$('logout').addEventListener('click', () => {
  const session = client
  const button = $<HTMLButtonElement>('logout')
  button.disabled = true
  post('/auth/logout', {}).then(async (response) => {
    // 401: the session had already ended, which is what logging out wants.
    if (!response.ok && response.status !== 401) throw new Error(await failure(response))
    $('login-panel').hidden = false
    // The server closes the session's sockets with 4441, and that close says why; a client
    // that was between connections hears nothing, so it is stopped here.
    setTimeout(() => { session?.close() }, 1000)
  }).catch((error: unknown) => {
    button.disabled = false
    showError(`Logout failed: ${error instanceof Error ? error.message : String(error)}`)
  })
})
