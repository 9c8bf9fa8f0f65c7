/**
 * The OpenTelemetry SDK wiring, imported only by `startTelemetry` when an
 * OTLP endpoint is configured. Exporters read the standard OTEL_* variables
 * themselves (endpoint, headers, timeout, compression); the sampler comes
 * from OTEL_TRACES_SAMPLER; the resource from OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES, with `forager` as the default service name.
 */
import { diag, DiagLogLevel } from "@opentelemetry/api";
import { BatchSpanProcessor, BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { defaultResource, detectResources, envDetector, resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import type { EventSubscriber } from "../events/types.js";
import type { Logger } from "../logging/index.js";
import type { Telemetry } from "./types.js";
import type { MetricFamily } from "./metric-family.js";
import type { TelemetrySettings } from "./settings.js";
import { LlmCallLog } from "./llm-calls.js";
import { SpanBuilder } from "./spans.js";

export interface OtelOptions {
  logger: Logger;
  env: NodeJS.ProcessEnv;
  version?: string;
}

/** Builds the exporters the settings ask for. */
export async function createOtelTelemetry(settings: TelemetrySettings, options: OtelOptions): Promise<Telemetry> {
  // Export failures (receiver down, rejected batch) reach forager's log instead of vanishing.
  const warn = (message: string, ...args: unknown[]) => options.logger.warn({ details: args.map(String) }, `OpenTelemetry: ${message}`);
  diag.setLogger({ error: warn, warn, info: () => {}, debug: () => {}, verbose: () => {} }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  const resource = buildResource(options.version);
  const provider = settings.traces
    ? new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(await traceExporter(settings))] })
    : undefined;
  const tracer = provider?.getTracer("forager", options.version);
  const builders = new Set<SpanBuilder>();
  const calls = new LlmCallLog(settings.captureContent);
  let metrics: { shutdown(): Promise<void> } | undefined;
  const pendingMetrics: Promise<void>[] = [];
  let stopped: Promise<void> | undefined;

  options.logger.debug({ traces: settings.traces, metrics: settings.metrics, protocol: settings.tracesProtocol }, "OpenTelemetry export on");
  return {
    traces: provider !== undefined,
    traceExecutions(bus: EventSubscriber) {
      if (!tracer) return () => undefined;
      const builder = new SpanBuilder(tracer, { captureContent: settings.captureContent, calls });
      builders.add(builder);
      const unsubscribe = bus.subscribe((event) => builder.observe(event));
      return () => {
        unsubscribe();
        builders.delete(builder);
      };
    },
    wrapLlm(provider) {
      return tracer ? calls.wrap(provider) : provider;
    },
    exportMetrics(source: () => MetricFamily[] | Promise<MetricFamily[]>) {
      if (!settings.metrics || metrics) return;
      pendingMetrics.push(
        import("./otlp-metrics.js").then(
          async ({ startMetricExport }) => {
            metrics = await startMetricExport(source, { resource, protocol: settings.metricsProtocol, env: options.env, version: options.version });
          },
          (err: unknown) => options.logger.warn({ err }, "OTLP metrics could not start"),
        ),
      );
    },
    shutdown(timeoutMs: number) {
      stopped ??= (async () => {
        for (const builder of builders) builder.endAll();
        builders.clear();
        await Promise.all(pendingMetrics);
        const work = Promise.allSettled([provider?.shutdown(), metrics?.shutdown()]).then((results) => {
          for (const r of results) if (r.status === "rejected") options.logger.warn({ err: r.reason }, "exporting telemetry at shutdown failed");
        });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            options.logger.warn({ timeout_ms: timeoutMs }, "telemetry export did not finish in time: some spans may be lost");
            resolve();
          }, Math.max(0, timeoutMs));
          timer.unref?.();
        });
        await Promise.race([work, late]);
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}

function buildResource(version: string | undefined): Resource {
  const own = resourceFromAttributes({ "service.name": "forager", ...(version ? { "service.version": version } : {}) });
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over forager's defaults.
  return defaultResource().merge(own).merge(detectResources({ detectors: [envDetector] }));
}

async function traceExporter(settings: TelemetrySettings) {
  if (settings.tracesProtocol === "http/json") {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    return new OTLPTraceExporter();
  }
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
  return new OTLPTraceExporter();
}
