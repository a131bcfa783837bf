import * as hdr from 'hdr-histogram-js'

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  count: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
  mean: number
}

/** Values are microseconds; one hour is the ceiling (anything slower is a failure, not a latency). */
export function createHistogram (): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 })
}

export function recordMs (histogram: hdr.Histogram, ms: number): void {
  histogram.recordValue(Math.max(1, Math.round(ms * 1000)))
}

export function encodeHistogram (histogram: hdr.Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram)
}

/** Sums encoded histograms (the two halves of a round, for instance). */
export function mergeHistograms (encoded: ReadonlyArray<string | undefined>): hdr.Histogram | undefined {
  let merged: hdr.Histogram | undefined
  for (const item of encoded) {
    if (item === undefined) continue
    const histogram = hdr.decodeFromCompressedBase64(item)
    if (merged === undefined) merged = createHistogram()
    merged.add(histogram)
  }
  return merged
}

export function summarize (histogram: hdr.Histogram | undefined): LatencySummary | undefined {
  if (histogram === undefined || histogram.totalCount === 0) return undefined
  const ms = (us: number): number => Math.round(us) / 1000
  return {
    count: histogram.totalCount,
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    p999: ms(histogram.getValueAtPercentile(99.9)),
    max: ms(histogram.maxValue),
    mean: ms(histogram.mean)
  }
}
