/** The browser globals the client listens to; all optional, since Node and workers lack some or all. */
export interface WakeSource {
  addEventListener?: (type: string, listener: () => void) => void
  removeEventListener?: (type: string, listener: () => void) => void
  document?: {
    readonly visibilityState?: string
    addEventListener?: (type: string, listener: () => void) => void
    removeEventListener?: (type: string, listener: () => void) => void
  }
}

/**
 * Calls `callback` when a page may have been asleep: its tab became visible again, or
 * the network came back. Browsers throttle or suspend timers in hidden tabs and while a
 * laptop sleeps, so the client's own renewal timer may have missed its time. Outside a
 * browser (Node, where `globalThis` has no `addEventListener`) it does nothing.
 * @returns a function that stops listening.
 */
export function onWake (callback: () => void, source: WakeSource = globalThis as WakeSource): () => void {
  const document = source.document
  const onVisibility = (): void => {
    if (document?.visibilityState !== 'hidden') callback()
  }
  source.addEventListener?.('online', callback)
  document?.addEventListener?.('visibilitychange', onVisibility)
  return () => {
    source.removeEventListener?.('online', callback)
    document?.removeEventListener?.('visibilitychange', onVisibility)
  }
}
