import { generateKeyPairSync, randomUUID, type JsonWebKey } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'
import type { Test } from 'tap'
import type { WsAuthJwksOptions, WsAuthVerifyOptions } from '../../plugin/index.ts'
import { secret } from '../helpers.ts'

/** The resource (RFC 8707) whose JWT access tokens the plugin under test accepts: their `aud`. */
export const RESOURCE = 'urn:wsauth:feed'
/** Another resource of the same provider: its tokens are valid, for someone else. */
export const OTHER_RESOURCE = 'urn:wsauth:billing'
/** Client credentials clients: the `sub` of their access tokens. */
export const CLIENT_ID = 'feed-service'
export const OTHER_CLIENT_ID = 'feed-analytics'
const CLIENT_SECRETS: Readonly<Record<string, string>> = {
  [CLIENT_ID]: secret('feed-service-secret-that-is-long-enough'),
  [OTHER_CLIENT_ID]: secret('feed-analytics-secret-that-is-long-enough')
}
/** The CIBA client: the way to a real ID token without a browser. */
const CIBA_CLIENT_ID = 'feed-device'
const CIBA_CLIENT_SECRET = secret('feed-device-secret-that-is-long-enough')
/** What every access token of {@link RESOURCE} grants. */
export const SCOPES = 'feed:read market:premium'

export type KeyAlgorithm = 'ES256' | 'RS256' | 'PS256' | 'EdDSA'

/** A private signing JWK with its `kid` and `alg`, as oidc-provider's `jwks` takes it. */
export function signingKey (alg: KeyAlgorithm, kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`): JsonWebKey & { kid: string, alg: string, use: string } {
  const pair = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jwk = pair.privateKey.export({ format: 'jwk' })
  secret(String(jwk.d))
  return { ...jwk, kid, alg, use: 'sig' }
}

export interface IssuerOptions {
  /** Algorithm of access tokens. @default 'ES256' */
  alg?: KeyAlgorithm
  /** Access-token lifetime, seconds. @default 300 */
  accessTokenTtl?: number
}

/**
 * A real OpenID Connect provider (panva's oidc-provider) on 127.0.0.1, behind a thin HTTP
 * front that counts requests to its JWKS, can make the JWKS fail, and swaps in a provider
 * with rotated keys on the same issuer URL (oidc-provider's key set is fixed per instance).
 */
export class TestIssuer {
  readonly #server: Server
  #provider!: Provider
  #keys: Array<ReturnType<typeof signingKey>> = []
  readonly #alg: KeyAlgorithm
  readonly #ttl: number
  issuer = ''
  /** Requests that reached `/jwks`. */
  jwksFetches = 0
  /** While set, `/jwks` answers 503. */
  jwksDown = false

  constructor (options: IssuerOptions = {}) {
    this.#alg = options.alg ?? 'ES256'
    this.#ttl = options.accessTokenTtl ?? 300
    this.#server = createServer((req, res) => {
      if (req.url?.startsWith('/jwks') === true) {
        this.jwksFetches++
        if (this.jwksDown) {
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"unavailable"}')
          return
        }
      }
      this.#provider.callback()(req, res)
    })
  }

  get jwksUrl (): string {
    return `${this.issuer}/jwks`
  }

  /** The `kid` new tokens are signed with. */
  get currentKid (): string {
    return (this.#keys[0] as { kid: string }).kid
  }

  async start (): Promise<this> {
    this.#server.listen(0, '127.0.0.1')
    await once(this.#server, 'listening')
    this.issuer = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
    this.#keys = [signingKey(this.#alg)]
    this.#provider = this.#build()
    return this
  }

  /**
   * Rotates the signing key the way providers do: the new key signs from now on, the old
   * one stays published so that tokens it signed verify until they expire.
   */
  rotate (): void {
    this.#keys = [signingKey(this.#alg), ...this.#keys]
    this.#provider = this.#build()
  }

  /** Public JWKS of the provider, as served at `/jwks`. */
  async jwks (): Promise<{ keys: Array<Record<string, unknown>> }> {
    return await (await fetch(this.jwksUrl)).json() as { keys: Array<Record<string, unknown>> }
  }

  /** A JWT access token from the client credentials grant, for `resource`. */
  async accessToken ({ resource = RESOURCE, scope = SCOPES, client = CLIENT_ID } = {}): Promise<string> {
    const response = await fetch(`${this.issuer}/token`, {
      method: 'POST',
      headers: { authorization: basic(client, CLIENT_SECRETS[client] as string), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope }).toString()
    })
    const body = await response.json() as { access_token?: string, error?: string, error_description?: string }
    if (body.access_token === undefined) throw new Error(`token endpoint: ${response.status} ${body.error} ${body.error_description}`)
    return secret(body.access_token)
  }

  /**
   * A real ID token of this provider for `subject`, through CIBA (OpenID Connect
   * Client-Initiated Backchannel Authentication) in poll mode: the provider's hook that
   * would notify the user's device approves at once, so no browser is involved.
   */
  async idToken (subject = 'alice'): Promise<string> {
    const headers = { authorization: basic(CIBA_CLIENT_ID, CIBA_CLIENT_SECRET), 'content-type': 'application/x-www-form-urlencoded' }
    const started = await fetch(`${this.issuer}/backchannel`, {
      method: 'POST', headers, body: new URLSearchParams({ scope: 'openid', login_hint: subject }).toString()
    })
    const { auth_req_id: requestId, error } = await started.json() as { auth_req_id?: string, error?: string }
    if (requestId === undefined) throw new Error(`backchannel endpoint: ${started.status} ${error}`)
    const response = await fetch(`${this.issuer}/token`, {
      method: 'POST', headers, body: new URLSearchParams({ grant_type: 'urn:openid:params:grant-type:ciba', auth_req_id: requestId }).toString()
    })
    const body = await response.json() as { id_token?: string, error?: string, access_token?: string }
    if (body.id_token === undefined) throw new Error(`token endpoint (ciba): ${response.status} ${body.error}`)
    if (body.access_token !== undefined) secret(body.access_token)
    return secret(body.id_token)
  }

  async close (): Promise<void> {
    this.#server.closeAllConnections()
    this.#server.close()
    await once(this.#server, 'close')
  }

  #build (): Provider {
    const alg = this.#alg
    const ttl = this.#ttl
    const provider: Provider = new Provider(this.issuer, {
      clients: [...Object.entries(CLIENT_SECRETS).map(([id, password]) => ({
        client_id: id,
        client_secret: password,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        // The provider's default (RS256) is refused when its key set holds no RSA key.
        id_token_signed_response_alg: alg
      })), {
        client_id: CIBA_CLIENT_ID,
        client_secret: CIBA_CLIENT_SECRET,
        grant_types: ['urn:openid:params:grant-type:ciba'],
        response_types: [],
        redirect_uris: [],
        backchannel_token_delivery_mode: 'poll',
        id_token_signed_response_alg: alg
      }],
      jwks: { keys: this.#keys as never },
      cookies: { keys: [secret('cookie-signing-key-for-the-test-provider')] },
      scopes: ['openid', 'feed:read', 'market:premium'],
      ttl: { AccessToken: ttl, ClientCredentials: ttl, IdToken: ttl, Grant: 600, BackchannelAuthenticationRequest: 600 },
      findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => RESOURCE,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, resource: string) => {
            if (resource !== RESOURCE && resource !== OTHER_RESOURCE) throw new Error(`unknown resource ${resource}`)
            return { scope: SCOPES, audience: resource, accessTokenTTL: ttl, accessTokenFormat: 'jwt', jwt: { sign: { alg } } }
          }
        },
        ciba: {
          enabled: true,
          deliveryModes: ['poll'],
          processLoginHint: async (_ctx: unknown, hint: string) => hint,
          verifyUserCode: async () => {},
          validateBindingMessage: async () => {},
          validateRequestContext: async () => {},
          triggerAuthenticationDevice: async (_ctx: unknown, request: InstanceType<Provider['BackchannelAuthenticationRequest']>, account: { accountId: string }, client: { clientId: string }) => {
            const grant = new provider.Grant({ accountId: account.accountId, clientId: client.clientId })
            grant.addOIDCScope('openid')
            await grant.save()
            await provider.backchannelResult(request, grant)
          }
        }
      }
    } as never)
    return provider
  }
}

/** A provider for one test, closed when the test ends. */
export async function startIssuer (t: Test, options?: IssuerOptions): Promise<TestIssuer> {
  const started = await new TestIssuer(options).start()
  t.after(() => started.close())
  return started
}

/**
 * What a resource server trusting `idp` verifies: ES256 access tokens for {@link RESOURCE}
 * under the RFC 9068 profile, with keys from the provider's JWKS cached as `jwks` says.
 */
export function trustingVerify (idp: { issuer: string, jwksUrl: string }, jwks: Omit<WsAuthJwksOptions, 'url'>): WsAuthVerifyOptions {
  return { algorithms: ['ES256'], issuer: idp.issuer, audience: RESOURCE, profile: 'rfc9068', jwks: { url: idp.jwksUrl, ...jwks } }
}

function basic (id: string, password: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(password)}`).toString('base64')}`
}
