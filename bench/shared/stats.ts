/** A figure over rounds: the median is what ratios and targets use; min and max show the spread. */
export interface Spread {
  median: number
  min: number
  max: number
  rounds: number[]
}

export function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  if (sorted.length === 0) return Number.NaN
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

export function spread (values: readonly number[]): Spread | undefined {
  const finite = values.filter(Number.isFinite)
  if (finite.length === 0) return undefined
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), rounds: [...values] }
}

/** Rounds to `digits` significant digits, so JSON and tables stay readable. */
export function round (value: number, digits = 4): number {
  if (!Number.isFinite(value) || value === 0) return value
  const magnitude = Math.floor(Math.log10(Math.abs(value)))
  const factor = 10 ** Math.max(0, digits - 1 - magnitude)
  return Math.round(value * factor) / factor
}
