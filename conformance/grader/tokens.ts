import { createHmac } from 'node:crypto'

/** How the grader obtains tokens from, or for, the server under test. */
export interface TokenSourceOptions {
  /** An HTTP login endpoint: POST {"username","password"} answers {"accessToken"}. */
  login?: string
  username?: string
  password?: string
  /** The server's HMAC key: the grader signs its own tokens (expired, short-lived, for another subject ...). */
  key?: string
  /** HS256, HS384 or HS512. @default HS256 */
  algorithm?: string
  /** Claims of the tokens the grader signs (without a login, at least `sub`). */
  claims?: Record<string, unknown>
  /** A revocation trigger: POST with `Authorization: Bearer <token>` revokes the token's session (the example app's /auth/logout). */
  logout?: string
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

export function claimsOf (token: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>
  } catch {
    return {}
  }
}

export class TokenSource {
  readonly #options: TokenSourceOptions
  #template: Record<string, unknown> | undefined
  /** One login for the whole run: the endpoint is rate-limited, and a second login is another session. */
  #login: Promise<string> | undefined
  #serial = 0

  constructor (options: TokenSourceOptions) {
    if (options.login === undefined && options.key === undefined) throw new Error('give --login URL or --key SECRET: the grader needs tokens')
    this.#options = options
  }

  /** Whether the grader can sign tokens of its choosing. */
  get canSign (): boolean {
    return this.#options.key !== undefined
  }

  get canRevoke (): boolean {
    return this.#options.logout !== undefined
  }

  /** A token as the server's own login issues it, or, with a key only, one the grader signs for 60 s. */
  async token (): Promise<string> {
    if (this.#options.login !== undefined) return await this.#loggedIn()
    return this.sign({ lifetimeMs: 60_000 })
  }

  /** Signs the template's claims with `lifetimeMs` to live (negative: expired), `overrides` on top. */
  async signed (options: { lifetimeMs: number, claims?: Record<string, unknown>, key?: string, header?: Record<string, unknown> }): Promise<string> {
    this.#template ??= this.#options.login === undefined ? { ...this.#options.claims } : { ...claimsOf(await this.#loggedIn()), ...this.#options.claims }
    return this.sign(options)
  }

  sign (options: { lifetimeMs: number, claims?: Record<string, unknown>, key?: string, header?: Record<string, unknown> }): string {
    const key = options.key ?? this.#options.key
    if (key === undefined) throw new Error('signing needs --key')
    const algorithm = this.#options.algorithm ?? 'HS256'
    const now = Date.now()
    const { exp: _exp, iat: _iat, jti: _jti, ...template } = this.#template ?? this.#options.claims ?? {}
    const payload = { ...template, iat: Math.floor(now / 1000), exp: (now + options.lifetimeMs) / 1000, jti: `grader-${now}-${++this.#serial}`, ...options.claims }
    const input = `${encode({ alg: algorithm, typ: 'JWT', ...options.header })}.${encode(payload)}`
    return `${input}.${createHmac(`sha${algorithm.slice(2)}`, key).update(input).digest('base64url')}`
  }

  /** Revokes the session of `token` through the server's trigger; resolves to the HTTP status. */
  async revoke (token: string): Promise<number> {
    const response = await fetch(this.#options.logout as string, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    await response.arrayBuffer()
    return response.status
  }

  #loggedIn (): Promise<string> {
    this.#login ??= this.#logIn()
    return this.#login
  }

  async #logIn (): Promise<string> {
    const response = await fetch(this.#options.login as string, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: this.#options.username, password: this.#options.password })
    })
    const body = await response.json() as { accessToken?: string }
    if (!response.ok || typeof body.accessToken !== 'string') throw new Error(`the login endpoint answered ${response.status} without an accessToken`)
    return body.accessToken
  }
}
