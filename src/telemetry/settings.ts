/**
 * What OpenTelemetry export the environment asks for (SPEC 10), read
 * without loading any OpenTelemetry package: a process with none of these
 * variables set never pays for them.
 */

export type OtlpProtocol = "http/protobuf" | "http/json";

export interface TelemetrySettings {
  /** OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and OTEL_SDK_DISABLED is not true). */
  traces: boolean;
  /** OTEL_METRICS_EXPORTER includes `otlp` and an endpoint for metrics is set. */
  metrics: boolean;
  tracesProtocol: OtlpProtocol;
  metricsProtocol: OtlpProtocol;
  /** FORAGER_OTEL_CAPTURE_CONTENT=true: prompts, completions, tool arguments and results go into spans. */
  captureContent: boolean;
  /** Protocols asked for that forager does not speak (grpc): reported once, then http/protobuf is used. */
  unsupported: string[];
}

const set = (value: string | undefined): boolean => value !== undefined && value.trim() !== "";

function protocol(value: string | undefined, unsupported: string[]): OtlpProtocol {
  const text = value?.trim().toLowerCase();
  if (!text || text === "http/protobuf") return "http/protobuf";
  if (text === "http/json") return "http/json";
  unsupported.push(text);
  return "http/protobuf";
}

/** Reads the standard OTEL_* variables that decide whether anything is exported. */
export function telemetrySettings(env: NodeJS.ProcessEnv): TelemetrySettings {
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true";
  const unsupported: string[] = [];
  const exporters = (env.OTEL_METRICS_EXPORTER ?? "").split(",").map((s) => s.trim().toLowerCase());
  const endpoint = set(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const traces = !disabled && (endpoint || set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT));
  const metrics = !disabled && exporters.includes("otlp") && (endpoint || set(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT));
  return {
    traces,
    metrics,
    tracesProtocol: traces ? protocol(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL, unsupported) : "http/protobuf",
    metricsProtocol: metrics ? protocol(env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL, unsupported) : "http/protobuf",
    captureContent: env.FORAGER_OTEL_CAPTURE_CONTENT?.trim().toLowerCase() === "true",
    unsupported: [...new Set(unsupported)],
  };
}
