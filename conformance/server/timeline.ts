/** Who did what: the client (`c→s`), the kit (`s→c`), or a note of the kit's grading. */
export type Direction = 'c→s' | 's→c' | 'note'

export interface TimelineEvent {
  /** ms since the case started. */
  t: number
  direction: Direction
  /** `http`, `handshake`, `text`, `binary`, `close`, `note`, `fail` ... */
  kind: string
  detail: string
}

const MAX_DETAIL = 300

/** The record of one case: every frame both ways, every HTTP request, every verdict note. */
export class Timeline {
  readonly start = Date.now()
  readonly events: TimelineEvent[] = []

  now (): number {
    return Date.now() - this.start
  }

  add (direction: Direction, kind: string, detail: string): void {
    this.events.push({ t: this.now(), direction, kind, detail: detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL)}… (${detail.length} chars)` : detail })
  }
}
