/** The table printed as the run goes, so a long run shows where it is and what it measures. */
export class Progress {
  readonly #started = performance.now()
  readonly #write: (text: string) => void

  constructor (write: (text: string) => void = (text) => { process.stdout.write(text) }) {
    this.#write = write
  }

  get elapsedS (): number {
    return (performance.now() - this.#started) / 1000
  }

  scenario (id: string, title: string): void {
    this.#write(`\n── ${id}: ${title} ${'─'.repeat(Math.max(2, 90 - id.length - title.length))} ${this.elapsedS.toFixed(0)} s\n`)
  }

  header (unit: string): void {
    this.#write(`  ${pad('round', 6)}${pad('variant', 26)}${pad(unit, 16, true)}${pad('ratio', 9, true)}${pad('p50 ms', 10, true)}${pad('p99 ms', 10, true)}${pad('cpu µs/op', 11, true)}${pad('gen cpu', 9, true)}${pad('errors', 8, true)}\n`)
  }

  row (round: string, variant: string, rate: number | undefined, ratio: number | undefined, p50: number | undefined, p99: number | undefined, cpu: number | undefined, generator: number | undefined, errors: number): void {
    this.#write(`  ${pad(round, 6)}${pad(variant, 26)}${pad(fmt(rate), 16, true)}${pad(ratio === undefined ? '—' : ratio.toFixed(3), 9, true)}${pad(fmt(p50, 2), 10, true)}${pad(fmt(p99, 2), 10, true)}${pad(fmt(cpu), 11, true)}${pad(generator === undefined ? '—' : `${Math.round(generator * 100)}%`, 9, true)}${pad(String(errors), 8, true)}\n`)
  }

  line (text: string): void {
    this.#write(`  ${text}\n`)
  }
}

function pad (text: string, width: number, right = false): string {
  return right ? text.padStart(width - 1) + ' ' : text.padEnd(width)
}

export function fmt (value: number | undefined | null, decimals?: number): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return '—'
  const digits = decimals ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2)
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}
