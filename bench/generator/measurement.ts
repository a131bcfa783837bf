import type * as hdr from 'hdr-histogram-js'
import { encodeHistogram } from '../shared/histogram.ts'
import type { Measurement } from '../shared/protocol.ts'
import type { ErrorLog } from './errors.ts'
import type { WindowTotals } from './window.ts'

/**
 * What a measured job reports: its operations, the window's durations and CPU times, its
 * errors and latencies, and its own figures (`extra`). One place turns the generator's
 * records into the wire form every job shares.
 */
export function measurement (ops: number, totals: WindowTotals, errors: ErrorLog, histogram: hdr.Histogram, extra: Record<string, number>): Measurement {
  return { ops, ...totals, errors: errors.count, errorSamples: errors.samples, latency: encodeHistogram(histogram), extra }
}
