import type { Clock } from './clock.ts'

/** The largest document read from a key-set or discovery URL: real key sets are a few KB. */
export const MAX_DOCUMENT_BYTES = 256 * 1024

/**
 * GETs a JSON document for the key source, or rejects: within `timeoutMs` on the plugin's
 * clock (connection, headers and body together), without following redirects, at most
 * {@link MAX_DOCUMENT_BYTES}. Written here because get-jwks, used before, passes fetch a
 * `timeout` option that fetch does not have: a key set that never answered kept its request
 * open for as long as Node's own timeouts allowed, and nothing capped the body a hostile or
 * broken endpoint could send. Everything else get-jwks did (pick a key by `kid`) is a line.
 */
export async function fetchJson (url: string, timeoutMs: number, clock: Clock): Promise<unknown> {
  const controller = new AbortController()
  const timer = clock.setTimeout(() => { controller.abort(new Error(`no answer within ${timeoutMs} ms`)) }, timeoutMs)
  try {
    const response = await fetch(url, { signal: controller.signal, redirect: 'error', headers: { accept: 'application/json' } })
    const body = response.body
    if (!response.ok || body === null) {
      await body?.cancel()
      throw new Error(`status ${response.status}`)
    }
    if (Number(response.headers.get('content-length')) > MAX_DOCUMENT_BYTES) {
      await body.cancel()
      throw new Error('document too large')
    }
    const chunks: Uint8Array[] = []
    let size = 0
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength
      // Counted as it arrives: a missing or false content-length cannot get past this.
      if (size > MAX_DOCUMENT_BYTES) throw new Error('document too large')
      chunks.push(chunk)
    }
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } finally {
    clock.clearTimeout(timer)
  }
}
