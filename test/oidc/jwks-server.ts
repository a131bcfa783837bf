import { constants, createPrivateKey, sign as cryptoSign, type JsonWebKey } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { nowSeconds, secret } from '../helpers.ts'

/**
 * A JWKS served from 127.0.0.1 with keys the test controls: for keys no provider would
 * publish (an RSA key without `alg`, an encryption key, a short RSA key) and for a JWKS
 * endpoint that never answers.
 */
export class JwksServer {
  readonly #server: Server
  keys: Array<Record<string, unknown>> = []
  fetches = 0
  /** While set, requests are accepted and never answered. */
  hang = false
  /** While set, answers with this instead of the key set: a redirect, a huge or a foreign document. */
  answer: ((res: ServerResponse) => void) | undefined
  /** Resolves the next time a request arrives. */
  #arrived: Array<() => void> = []
  /** Resolves when a request is abandoned by its client before an answer. */
  #abandoned: Array<() => void> = []
  url = ''

  constructor () {
    this.#server = createServer((req, res) => {
      this.fetches++
      for (const wake of this.#arrived.splice(0)) wake()
      res.on('close', () => {
        if (!res.writableFinished) for (const wake of this.#abandoned.splice(0)) wake()
      })
      if (this.hang) return
      if (this.answer !== undefined) {
        this.answer(res)
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys }))
    })
  }

  /** Resolves when the next unanswered request is given up by the client. */
  nextAbandoned (): Promise<void> {
    return new Promise((resolve) => { this.#abandoned.push(resolve) })
  }

  async start (): Promise<this> {
    this.#server.listen(0, '127.0.0.1')
    await once(this.#server, 'listening')
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/keys.json`
    return this
  }

  /** Resolves when the next request reaches the server. */
  nextRequest (): Promise<void> {
    return new Promise((resolve) => { this.#arrived.push(resolve) })
  }

  async close (): Promise<void> {
    this.#server.closeAllConnections()
    this.#server.close()
    await once(this.#server, 'close')
  }
}

/** The public half of a private JWK, as a JWKS publishes it. */
export function publicJwk (privateJwk: JsonWebKey & Record<string, unknown>): Record<string, unknown> {
  const { d, p, q, dp, dq, qi, ...rest } = privateJwk
  return rest
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/**
 * Signs a JWT with a private JWK under any header the test wants (a mismatched `alg` or
 * `kid` included): JOSE signing by hand, since libraries refuse exactly these tokens.
 */
export function signWithJwk (privateJwk: JsonWebKey, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${encode(header)}.${encode({ exp: Math.floor(nowSeconds()) + 60, ...claims })}`
  const key = createPrivateKey({ key: privateJwk, format: 'jwk' })
  const alg = header.alg as string
  const signature = alg === 'EdDSA'
    ? cryptoSign(null, Buffer.from(input), key)
    : alg.startsWith('ES')
      ? cryptoSign(`sha${alg.slice(2)}`, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
      : alg.startsWith('PS')
        ? cryptoSign(`sha${alg.slice(2)}`, Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 })
        : cryptoSign(`sha${alg.slice(2)}`, Buffer.from(input), key)
  return secret(`${input}.${signature.toString('base64url')}`)
}

/** `token` with its header replaced (signature kept): a forged `kid`, say. */
export function withHeader (token: string, header: Record<string, unknown>): string {
  const [, payload, signature] = token.split('.')
  return secret(`${encode(header)}.${payload}.${signature}`)
}

/** The decoded header of `token`. */
export function headerOf (token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString()) as Record<string, unknown>
}

/** The decoded (unverified) payload of `token`. */
export function payloadOf (token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>
}
