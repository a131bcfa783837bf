// The example page: bundled with the reference client by esbuild (example-app/page.ts).
import { WsAuthClient, type Transport } from '../../client/index.ts'

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T

interface LoginReply { accessToken?: string, expiresAt: number, subject: string, sessionId: string }

let client: WsAuthClient | undefined
let renewals = 0
let countdownTimer: ReturnType<typeof setInterval> | undefined

function log (list: string, text: string): void {
  const item = document.createElement('li')
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`
  const target = $(list)
  target.prepend(item)
  while (target.children.length > 50) target.lastElementChild?.remove()
}

async function post (path: string, body: unknown): Promise<Response> {
  return await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' })
}

function setState (state: string): void {
  const element = $('state')
  element.textContent = state
  element.dataset.state = state
}

function start (mode: Transport, login: LoginReply): void {
  $('login-panel').hidden = true
  $('session-panel').hidden = false
  $('transport').textContent = mode === 'cookie' ? 'HttpOnly cookie (server-side renewal)' : 'subprotocol (renew frames)'
  $('closed-reason').textContent = ''
  renewals = 0
  let firstToken = login.accessToken
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/feed`
  const refresh = async (refreshMode: 'token' | 'cookie'): Promise<LoginReply> => {
    const response = await post('/auth/refresh', { mode: refreshMode })
    const body = await response.json() as LoginReply & { error?: string, message?: string }
    if (!response.ok) throw Object.assign(new Error(body.message ?? 'refresh failed'), { code: body.error })
    return body
  }
  client = new WsAuthClient(mode === 'cookie'
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
  client.on('state', (state) => { setState(state) })
  client.on('authenticated', (frame) => {
    $('identity').textContent = `${frame.subject}${frame.sessionId === undefined ? '' : ` · session ${frame.sessionId.slice(0, 8)}…`}`
    $('socket-id').textContent = frame.connectionId
    log('events', `authenticated as ${frame.subject}, expires in ${Math.round(frame.expiresIn / 1000)} s`)
  })
  client.on('renew_required', (frame) => { log('events', `renew_required: ${Math.round(frame.expiresIn / 1000)} s left`) })
  client.on('renewed', (frame) => {
    renewals++
    $('renewals').textContent = String(renewals)
    log('events', `renewed: expires in ${Math.round(frame.expiresIn / 1000)} s`)
  })
  client.on('auth_error', (frame) => { log('events', `auth_error ${frame.code}${frame.closing ? ' (closing)' : ''}: ${frame.message}`) })
  client.on('close', (info) => {
    log('events', `closed ${info.code} ${info.reason}${info.willRetry ? ', reconnecting' : ''}`)
    if (!info.willRetry) $('closed-reason').textContent = `Disconnected: ${info.reason || 'connection lost'} (${info.code})`
  })
  client.on('message', (data) => {
    if (typeof data !== 'string') return
    const message = JSON.parse(data) as { type: string, topic?: string, price?: number, seq?: number, reason?: string, code?: string }
    if (message.type === 'tick') log('feed', `${message.topic} #${message.seq} ${message.price?.toFixed(2)}`)
    else log('events', `${message.type}${message.topic === undefined ? '' : ` ${message.topic}`}${message.reason === undefined ? '' : ` (${message.reason})`}${message.code === undefined ? '' : ` ${message.code}`}`)
  })
  clearInterval(countdownTimer)
  countdownTimer = setInterval(() => {
    const expiresAt = client?.expiresAt
    $('countdown').textContent = expiresAt === undefined ? '–' : `${Math.max(0, (expiresAt - Date.now()) / 1000).toFixed(1)} s`
  }, 200)
  client.connect()
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const mode = (document.querySelector('input[name="mode"]:checked') as HTMLInputElement).value as 'token' | 'cookie'
  const username = $<HTMLInputElement>('username').value
  const password = $<HTMLInputElement>('password').value
  $('login-error').textContent = ''
  post('/auth/login', { username, password, mode }).then(async (response) => {
    const body = await response.json() as LoginReply & { message?: string }
    if (!response.ok) {
      $('login-error').textContent = body.message ?? `Login failed (${response.status})`
      return
    }
    start(mode === 'cookie' ? 'cookie' : 'subprotocol', body)
  }).catch((error: unknown) => { $('login-error').textContent = String(error) })
})

$('subscribe-premium').addEventListener('click', () => {
  client?.send(JSON.stringify({ type: 'subscribe', topic: 'premium' }))
})

$('logout').addEventListener('click', () => {
  // The server closes the socket (4441); the close event shows why.
  post('/auth/logout', {}).then(() => {
    $('login-panel').hidden = false
  }).catch(() => {})
})
