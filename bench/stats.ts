// Small, dependency-free statistics over repeated measurements.

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
  samples: number[];
}

/** Linear-interpolated percentile (0–100) of the values; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const lo = sorted[lower] ?? Number.NaN;
  const hi = sorted[upper] ?? lo;
  return lo + (hi - lo) * (rank - lower);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function summarize(samples: readonly number[]): Summary {
  return {
    median: median(samples),
    min: samples.length > 0 ? Math.min(...samples) : Number.NaN,
    max: samples.length > 0 ? Math.max(...samples) : Number.NaN,
    n: samples.length,
    samples: [...samples],
  };
}

/**
 * Ratios of runs measured back to back (extrepo run i / baseline run i). Their median resists the
 * machine's slow drifts (other work starting or stopping) better than a ratio of two medians.
 */
export function pairedRatios(numerators: readonly number[], denominators: readonly number[]): Summary {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(numerators.length, denominators.length); i++) {
    const top = numerators[i];
    const bottom = denominators[i];
    if (top !== undefined && bottom !== undefined && bottom > 0) ratios.push(top / bottom);
  }
  return summarize(ratios);
}

/** Bytes per second expressed in MiB/s. */
export function mibPerSecond(bytes: number, seconds: number): number {
  return bytes / (1024 * 1024) / seconds;
}

/** A small deterministic PRNG (mulberry32) so server and baseline see the same "random" sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
