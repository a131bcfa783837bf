import { randomBytes, scrypt, timingSafeEqual, type BinaryLike, type ScryptOptions } from 'node:crypto'

export interface User {
  username: string
  /** Space-separated OAuth-style scopes put in the access token. */
  scope: string
}

interface StoredUser extends User {
  salt: Buffer
  hash: Buffer
}

// OWASP's scrypt minimum (N=2^17, r=8, p=1) costs ~130 MB and ~0.3 s per login on these
// machines; the demo uses N=2^15, still a real memory-hard KDF, so the test suite stays fast.
const SCRYPT: ScryptOptions = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }
const KEY_LENGTH = 32

function derive (password: BinaryLike, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, SCRYPT, (error, key) => { error === null ? resolve(key) : reject(error) })
  })
}

/** The demo users the README lists. Passwords are hashed at start; only the hashes are kept. */
export const DEMO_USERS: ReadonlyArray<User & { password: string }> = [
  { username: 'alice', password: 'alice-password', scope: 'feed:read market:premium' },
  { username: 'bob', password: 'bob-password', scope: 'feed:read' },
  // No feed:read: shows a refused handshake (403 forbidden / close 4403).
  { username: 'carol', password: 'carol-password', scope: 'profile' }
]

export class UserStore {
  readonly #users = new Map<string, StoredUser>()
  // Compared against when the username is unknown, so that both cases cost one scrypt.
  #dummy: StoredUser | undefined

  static async create (users: ReadonlyArray<User & { password: string }> = DEMO_USERS): Promise<UserStore> {
    const store = new UserStore()
    for (const { password, ...user } of users) {
      const salt = randomBytes(16)
      store.#users.set(user.username, { ...user, salt, hash: await derive(password, salt) })
    }
    const salt = randomBytes(16)
    store.#dummy = { username: '', scope: '', salt, hash: await derive(randomBytes(16), salt) }
    return store
  }

  /** The user if `password` is theirs; `undefined` otherwise, in about the same time either way. */
  async authenticate (username: string, password: string): Promise<User | undefined> {
    const user = this.#users.get(username)
    const candidate = user ?? this.#dummy as StoredUser
    const hash = await derive(password, candidate.salt)
    const match = timingSafeEqual(hash, candidate.hash)
    return user !== undefined && match ? { username: user.username, scope: user.scope } : undefined
  }

  /** Changes a user's scopes (an administrator would); the next token issued carries them. */
  setScope (username: string, scope: string): void {
    const user = this.#users.get(username)
    if (user !== undefined) user.scope = scope
  }

  get (username: string): User | undefined {
    const user = this.#users.get(username)
    return user === undefined ? undefined : { username: user.username, scope: user.scope }
  }
}
