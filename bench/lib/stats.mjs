/** Small statistics over samples: median and spread, percentiles. */

/** The p-th percentile (0-100) of numbers, nearest-rank on a sorted copy. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

export function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median and spread of per-round values: what the table prints. */
export function summarize(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) throw new Error(`no finite samples to summarize (got ${JSON.stringify(values)})`);
  const med = median(finite);
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  return {
    median: round(med),
    min: round(min),
    max: round(max),
    n: finite.length,
    // Median absolute deviation relative to the median: "±x%" in the table.
    // Robust to one noisy round, unlike the range (min and max are kept as well).
    spread_pct: med === 0 ? 0 : round((median(finite.map((v) => Math.abs(v - med))) / Math.abs(med)) * 100, 1),
  };
}

/** Rounds to `digits` significant decimals for readable JSON (never to zero for small values). */
export function round(value, digits) {
  if (!Number.isFinite(value)) return value;
  if (digits === undefined) {
    const abs = Math.abs(value);
    digits = abs >= 100 ? 1 : abs >= 1 ? 3 : abs >= 0.01 ? 4 : 6;
  }
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
