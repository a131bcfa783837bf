/** A server under test, as the control endpoint and the child's entry see it. */
export interface RunningTarget {
  /** Port of the server under test (127.0.0.1). */
  port: number
  /** Open WebSocket (or socket.io) connections. */
  connections (): number
  /** Closes every connection from the server side; returns how many. */
  closeAll (): number
  close (): Promise<void>
  /** Target-specific commands, `POST /x/<name>` with a JSON body on the control port (plugin-redis: revoke, Redis figures). */
  command? (name: string, body: unknown): Promise<unknown>
}
