/**
 * One metric as both exporters see it: `/metrics` renders it in the
 * Prometheus text format, the OTLP exporter sends the same data points
 * under the OpenTelemetry name (which a Collector's Prometheus exporter
 * turns back into the Prometheus name).
 */

export type Labels = Record<string, string>;

export interface HistogramPoint {
  labels: Labels;
  /** Count per bucket, not cumulative: `counts[i]` for values in (bounds[i-1], bounds[i]], the last for (bounds[n-1], +Inf). */
  counts: number[];
  count: number;
  sum: number;
}

interface FamilyBase {
  /** Prometheus name with its unit and `_total` for counters: `forager_llm_tokens_total`. */
  name: string;
  help: string;
  /** OpenTelemetry name and UCUM unit: `forager.llm.tokens`, `{token}`. */
  otel: { name: string; unit: string };
}

export interface ScalarFamily extends FamilyBase {
  type: "counter" | "gauge";
  samples: { labels: Labels; value: number }[];
}

export interface HistogramFamily extends FamilyBase {
  type: "histogram";
  /** Upper bounds, ascending, in the family's unit. */
  bounds: readonly number[];
  points: HistogramPoint[];
}

export type MetricFamily = ScalarFamily | HistogramFamily;
