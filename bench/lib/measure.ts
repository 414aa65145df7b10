/**
 * Measuring helpers shared by the benchmark driver and its load generators: a wall clock
 * with sub-millisecond resolution that agrees across processes on one machine, HDR
 * histograms (microseconds) that travel between processes as compressed base64, and
 * their summary in milliseconds.
 */
import * as hdr from "hdr-histogram-js";

/** Wall-clock milliseconds with a fraction; comparable between processes on this machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** A new histogram of microseconds, 1 µs to 10 minutes, 3 significant digits. */
export function newHist(): hdr.Histogram {
  return hdr.build({
    useWebAssembly: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/** Records a duration given in milliseconds (clamped to the histogram's range). */
export function recordMs(hist: hdr.Histogram, ms: number): void {
  hist.recordValue(Math.min(599_000_000, Math.max(1, Math.round(ms * 1000))));
}

/** The histogram as text for a process message. */
export function encodeHist(hist: hdr.Histogram): string {
  return hdr.encodeIntoCompressedBase64(hist);
}

/** Adds every encoded histogram of `encoded` into one new histogram. */
export function mergeHists(encoded: readonly string[]): hdr.Histogram {
  const total = newHist();
  for (const text of encoded) {
    if (text) total.add(hdr.decodeFromCompressedBase64(text, 32, false));
  }
  return total;
}

/** Percentiles of a histogram, in milliseconds. */
export interface Latency {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** The summary of `hist` in milliseconds (zeros when it is empty). */
export function latencyOf(hist: hdr.Histogram): Latency {
  const ms = (us: number) => Math.round(us) / 1000;
  if (hist.totalCount === 0) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  return {
    count: hist.totalCount,
    p50: ms(hist.getValueAtPercentile(50)),
    p95: ms(hist.getValueAtPercentile(95)),
    p99: ms(hist.getValueAtPercentile(99)),
    max: ms(hist.maxValue),
    mean: ms(hist.mean),
  };
}

/** Resolves after `ms` milliseconds. For pacing load, never for waiting on an event. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
