// Runs the reference client (client/) through client grading: the adapter every client
// under test needs, in about forty lines. For each case it asks for: a client whose
// getToken() is `POST tokenUrl`, that echoes every application message it receives,
// connected to the case's url; once the case's result is in, the client is closed.
import { WebSocket } from 'ws'
import { WsAuthClient, type CloseInfo, type Transport, type WsAuthClientOptions } from '../../../client/index.ts'

export interface KitCase {
  id: string
  transport: 'subprotocol' | 'auth-frame' | null
  requires: string[]
  tokenUrl: string
  url: string
  resultUrl: string
}

export interface DriverOptions {
  /** The kit's base URL, e.g. http://127.0.0.1:9001 */
  kit: string
  /** Transports the client under test supports; the first is its own choice. @default ['subprotocol', 'auth-frame'] */
  transports?: Transport[]
  /** Features claimed (e.g. 'retry-after'); cases that need others are not run. */
  features?: string[]
  /** Only these case ids. */
  only?: string[]
  /** Changes the options of each client (tests make broken variants with it). */
  configure?: (options: WsAuthClientOptions, kitCase: KitCase, client: () => WsAuthClient | undefined) => WsAuthClientOptions
  /** Called on every close of a case's client, with a function that starts a new client for the case. */
  onClose?: (info: CloseInfo, restart: () => void) => void
}

export async function fetchToken (tokenUrl: string): Promise<string> {
  const response = await fetch(tokenUrl, { method: 'POST' })
  if (!response.ok) throw new Error(`token endpoint answered ${response.status}`)
  return ((await response.json()) as { accessToken: string }).accessToken
}

/** Runs every applicable case at once (cases are independent); resolves with each case's status. */
export async function runReferenceClient (options: DriverOptions): Promise<Record<string, string>> {
  const transports = options.transports ?? ['subprotocol', 'auth-frame']
  const features = options.features ?? []
  const { cases } = await (await fetch(`${options.kit}/cases`)).json() as { cases: KitCase[] }
  const applicable = cases.filter((c) => (c.transport === null || transports.includes(c.transport)) &&
    c.requires.every((feature) => features.includes(feature)) && (options.only === undefined || options.only.includes(c.id)))
  const statuses = await Promise.all(applicable.map(async (kitCase) => {
    const clients: WsAuthClient[] = []
    const start = (): void => {
      const holder: { client?: WsAuthClient } = {}
      let clientOptions: WsAuthClientOptions = {
        url: kitCase.url,
        transport: kitCase.transport ?? transports[0],
        getToken: () => fetchToken(kitCase.tokenUrl),
        WebSocket: WebSocket as unknown as WsAuthClientOptions['WebSocket']
      }
      if (options.configure !== undefined) clientOptions = options.configure(clientOptions, kitCase, () => holder.client)
      const self = new WsAuthClient(clientOptions)
      holder.client = self
      self.on('message', (data) => { self.send(data) })
      self.on('error', () => {})
      self.on('close', (info) => { options.onClose?.(info, start) })
      clients.push(self)
      self.connect()
    }
    start()
    const result = await (await fetch(kitCase.resultUrl)).json() as { status: string }
    for (const client of clients) client.close()
    return [kitCase.id, result.status] as const
  }))
  return Object.fromEntries(statuses)
}
