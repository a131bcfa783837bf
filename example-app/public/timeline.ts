// A live picture of one connection's credentials, drawn as inline SVG. Hand-written: a
// dozen shapes redrawn a few times a second need no chart library.

interface Credential {
  start: number
  deadline: number
  /** 1 for the session's first credential, and so on. */
  number: number
  /** Its row: a credential overlaps the ones before it by the renewal lead, or more. */
  lane: number
  /** Where it stopped being used before its deadline: the connection closed. */
  end?: number
  renewRequiredAt?: number
  renewedAt?: number
}

const SVG = 'http://www.w3.org/2000/svg'
const TOP = 18
const ROW = 28
const BAR_HEIGHT = 20
/** Rows for overlapping credentials: a renewal lead of up to 3/4 of the lifetime still fits. */
const MAX_LANES = 4
/** Tick spacings in seconds; the first that fits the window's width wins. */
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200]

function shape (name: string, attributes: Record<string, string | number>, text?: string): SVGElement {
  const element = document.createElementNS(SVG, name)
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value))
  if (text !== undefined) element.textContent = text
  return element
}

function titled (element: SVGElement, text: string): SVGElement {
  element.append(shape('title', {}, text))
  return element
}

const clock = (ms: number): string => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })
const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`

/**
 * One bar per credential, from `authenticated` or `renewed` to its deadline, with marks where
 * `renew_required` arrived and where `renewed` answered, the live deadline, and each close
 * with its code. The window scrolls with time; its width follows the token lifetime, so
 * 300 s tokens and 6 s tokens both show the last two or three credentials.
 */
export class Timeline {
  readonly #svg: SVGSVGElement
  #credentials: Credential[] = []
  #closes: Array<{ at: number, code: number }> = []
  #issued = 0
  /** The first credential's lifetime, in ms: it sets the time scale. */
  #lifetime = 0

  constructor (svg: SVGSVGElement) {
    this.#svg = svg
    this.render()
  }

  reset (): void {
    this.#credentials = []
    this.#closes = []
    this.#issued = 0
    this.#lifetime = 0
    this.render()
  }

  authenticated (expiresIn: number, now = Date.now()): void {
    if (this.#lifetime === 0) this.#lifetime = expiresIn
    // The first row free at `now`, else the one that frees up first.
    const ends = Array.from({ length: MAX_LANES }, (_, lane) =>
      Math.max(0, ...this.#credentials.filter((credential) => credential.lane === lane).map((credential) => credential.end ?? credential.deadline)))
    const free = ends.findIndex((end) => end <= now)
    const lane = free === -1 ? ends.indexOf(Math.min(...ends)) : free
    this.#credentials.push({ start: now, deadline: now + expiresIn, number: ++this.#issued, lane })
    this.render()
  }

  renewRequired (now = Date.now()): void {
    const current = this.#current()
    if (current !== undefined) current.renewRequiredAt ??= now
    this.render()
  }

  renewed (expiresIn: number, now = Date.now()): void {
    const current = this.#current()
    if (current !== undefined) current.renewedAt = now
    this.authenticated(expiresIn, now)
  }

  closed (code: number, now = Date.now()): void {
    const current = this.#current()
    if (current !== undefined) current.end = Math.min(now, current.deadline)
    this.#closes.push({ at: now, code })
    this.render()
  }

  /** The credential the open connection holds, if one does. */
  #current (): Credential | undefined {
    const last = this.#credentials.at(-1)
    return last?.end === undefined ? last : undefined
  }

  render (now = Date.now()): void {
    const width = Math.max(300, this.#svg.clientWidth)
    const lanes = Math.max(2, ...this.#credentials.map((credential) => credential.lane + 1))
    const axisY = TOP + lanes * ROW + 4
    const height = axisY + 20
    this.#svg.setAttribute('viewBox', `0 0 ${width} ${height}`)
    this.#svg.setAttribute('height', String(height))
    if (this.#credentials.length === 0 && this.#closes.length === 0) {
      this.#svg.replaceChildren(shape('text', { x: width / 2, y: height / 2, class: 'empty', 'text-anchor': 'middle' }, 'Log in to see the connection’s credentials over time.'))
      return
    }
    // The window: about one lifetime ahead (the current deadline is always in view) and
    // one and a half behind (the credential before it and the renewal between them). A
    // connection refused before any credential was accepted gets a one-minute scale.
    const lifetime = this.#lifetime === 0 ? 60_000 : this.#lifetime
    const from = now - 1.6 * lifetime
    const to = now + 1.1 * lifetime
    const x = (t: number): number => ((t - from) / (to - from)) * width
    const visible = (t: number): boolean => t >= from && t <= to
    this.#credentials = this.#credentials.filter((credential) => (credential.end ?? credential.deadline) >= from)
    this.#closes = this.#closes.filter((close) => close.at >= from)

    const parts: SVGElement[] = [this.#axis(from, to, now, x, axisY)]
    for (const credential of this.#credentials) {
      const y = TOP + credential.lane * ROW
      const left = x(credential.start)
      const right = x(credential.end ?? credential.deadline)
      const life = credential.deadline - credential.start
      parts.push(titled(shape('rect', { class: 'credential', x: left, y, width: Math.max(1, right - left), height: BAR_HEIGHT, rx: 3, 'data-start': credential.start }),
        `credential from ${clock(credential.start)} to its deadline ${clock(credential.deadline)} (${seconds(life)})`))
      if (right - left > 72) parts.push(shape('text', { class: 'bar-label', x: Math.max(left, 0) + 6, y: y + 14 }, `#${credential.number} · ${seconds(life)}`))
      if (credential.renewRequiredAt !== undefined && visible(credential.renewRequiredAt)) {
        const at = x(credential.renewRequiredAt)
        parts.push(titled(shape('path', { class: 'mark renew-required', d: `M${at - 5},${y - 8} h10 l-5,8 z`, 'data-at': credential.renewRequiredAt }),
          `renew_required at ${clock(credential.renewRequiredAt)}`))
      }
      if (credential.renewedAt !== undefined && visible(credential.renewedAt)) {
        parts.push(titled(shape('circle', { class: 'mark renewed', cx: x(credential.renewedAt), cy: y + BAR_HEIGHT / 2, r: 4, 'data-at': credential.renewedAt }),
          `renewed at ${clock(credential.renewedAt)}`))
      }
    }
    const current = this.#current()
    if (current !== undefined) {
      const at = x(current.deadline)
      parts.push(shape('line', { class: 'deadline', x1: at, x2: at, y1: 6, y2: axisY, 'data-at': current.deadline }),
        shape('text', { class: 'deadline-label', x: at - 4, y: 12, 'text-anchor': 'end' }, `deadline in ${seconds(Math.max(0, current.deadline - now))}`))
    }
    // Closes in a row (a reconnection loop) share the label of the first: "closed 1006 +3".
    let label: { element: SVGElement, text: string, right: number, more: number } | undefined
    for (const close of this.#closes) {
      const at = x(close.at)
      const group = shape('g', { class: 'close', 'data-at': close.at, 'data-code': close.code })
      group.append(titled(shape('line', { x1: at, x2: at, y1: 6, y2: axisY }), `closed ${close.code} at ${clock(close.at)}`))
      if (label !== undefined && at < label.right) {
        label.element.textContent = `${label.text} +${++label.more}`
      } else {
        const text = `closed ${close.code}`
        const element = shape('text', { x: at + 4, y: 12 }, text)
        group.append(element)
        label = { element, text, right: at + 4 + (text.length + 3) * 7, more: 0 }
      }
      parts.push(group)
    }
    parts.push(shape('line', { class: 'now', x1: x(now), x2: x(now), y1: 6, y2: axisY + 4 }),
      shape('text', { class: 'now-label', x: x(now), y: axisY + 16, 'text-anchor': 'middle' }, 'now'))
    this.#svg.replaceChildren(...parts)
  }

  #axis (from: number, to: number, now: number, x: (t: number) => number, axisY: number): SVGElement {
    const axis = shape('g', { class: 'axis' })
    axis.append(shape('line', { x1: 0, x2: x(to), y1: axisY, y2: axisY }))
    // About one tick per 90 px: a label is 8 characters.
    const ticks = Math.max(3, Math.floor(x(to) / 90))
    const step = (STEPS.find((s) => (to - from) / 1000 / s <= ticks) ?? STEPS.at(-1) as number) * 1000
    for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
      axis.append(shape('line', { x1: x(t), x2: x(t), y1: axisY, y2: axisY + 4 }))
      // A label cut by the edge reads as another time.
      if (x(t) > 30 && x(t) < x(to) - 30 && Math.abs(x(t) - x(now)) > 50) axis.append(shape('text', { x: x(t), y: axisY + 16, 'text-anchor': 'middle' }, clock(t)))
    }
    return axis
  }
}
