/** Counts errors and keeps the first few descriptions for the report. */
export class ErrorLog {
  count = 0
  readonly samples: string[] = []
  readonly #limit: number

  constructor (limit = 5) {
    this.#limit = limit
  }

  add (description: string): void {
    this.count++
    if (this.samples.length < this.#limit && !this.samples.includes(description)) this.samples.push(description)
  }
}
