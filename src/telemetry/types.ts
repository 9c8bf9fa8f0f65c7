/** What a running OpenTelemetry export offers its callers (serve, run). */
import type { EventSubscriber } from "../events/types.js";
import type { LlmProvider } from "../llm/types.js";
import type { MetricFamily } from "./metric-family.js";

/** A running exporter: traces from the event bus, metrics from a snapshot function. */
export interface Telemetry {
  /** Whether spans are exported (metrics may be exported alone). */
  readonly traces: boolean;
  /** Turns every execution published on the bus into one trace; returns the unsubscribe function. */
  traceExecutions(bus: EventSubscriber): () => void;
  /**
   * The provider as one execution should use it: its prompts (when content is
   * captured) and failed calls reach the trace. Returns it unchanged when
   * traces are off.
   */
  wrapLlm(provider: LlmProvider): LlmProvider;
  /** Exports these metric families over OTLP at each interval (OTEL_METRIC_EXPORT_INTERVAL); no-op unless OTLP metrics are on. */
  exportMetrics(source: () => MetricFamily[] | Promise<MetricFamily[]>): void;
  /** Ends open spans, exports what is buffered and stops, within `timeoutMs`. Never rejects. */
  shutdown(timeoutMs: number): Promise<void>;
}

