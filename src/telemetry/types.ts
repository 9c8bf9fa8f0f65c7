/** What a running OpenTelemetry export offers its callers (serve, run). */
import type { EventSubscriber } from "../events/types.js";
import type { MetricFamily } from "./metric-family.js";

/** A running exporter: traces from the event bus, metrics from a snapshot function. */
export interface Telemetry {
  /** Whether spans are exported (metrics may be exported alone). */
  readonly traces: boolean;
  /** Turns every execution published on the bus into one trace; returns the unsubscribe function. */
  traceExecutions(bus: EventSubscriber): () => void;
  /** Exports these metric families over OTLP at each interval (OTEL_METRIC_EXPORT_INTERVAL); no-op unless OTLP metrics are on. */
  exportMetrics(source: () => MetricFamily[]): void;
  /** Ends open spans, exports what is buffered and stops, within `timeoutMs`. Never rejects. */
  shutdown(timeoutMs: number): Promise<void>;
}

