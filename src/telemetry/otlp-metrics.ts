/**
 * `/metrics` over OTLP (OTEL_METRICS_EXPORTER=otlp): a MetricProducer hands
 * the same families the Prometheus endpoint renders to a periodic reader,
 * so both exporters always agree (same data points, same histogram
 * buckets), under OpenTelemetry names and units.
 */
import { ValueType, type Attributes, type HrTime } from "@opentelemetry/api";
import { millisToHrTime } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type CollectionResult,
  type MetricData,
  type MetricProducer,
  type PushMetricExporter,
} from "@opentelemetry/sdk-metrics";
import type { MetricFamily } from "./metric-family.js";
import type { OtlpProtocol } from "./settings.js";

export interface MetricExportOptions {
  resource: Resource;
  protocol: OtlpProtocol;
  env: NodeJS.ProcessEnv;
  version?: string;
}

const DEFAULT_INTERVAL_MS = 60_000;

/** Starts exporting `source()` every OTEL_METRIC_EXPORT_INTERVAL ms (default 60 s). */
export async function startMetricExport(source: () => MetricFamily[] | Promise<MetricFamily[]>, options: MetricExportOptions): Promise<{ shutdown(): Promise<void> }> {
  const startTime = millisToHrTime(Date.now());
  const interval = positive(options.env.OTEL_METRIC_EXPORT_INTERVAL) ?? DEFAULT_INTERVAL_MS;
  const timeout = Math.min(positive(options.env.OTEL_METRIC_EXPORT_TIMEOUT) ?? 30_000, interval);
  const producer: MetricProducer = {
    async collect(): Promise<CollectionResult> {
      const now = millisToHrTime(Date.now());
      return {
        resourceMetrics: {
          resource: options.resource,
          scopeMetrics: [{ scope: { name: "forager", ...(options.version ? { version: options.version } : {}) }, metrics: (await source()).map((f) => toMetricData(f, startTime, now)) }],
        },
        errors: [],
      };
    },
  };
  const reader = new PeriodicExportingMetricReader({
    exporter: await metricExporter(options.protocol),
    exportIntervalMillis: interval,
    exportTimeoutMillis: timeout,
    metricProducers: [producer],
  });
  const provider = new MeterProvider({ resource: options.resource, readers: [reader] });
  return { shutdown: () => provider.shutdown() };
}

function toMetricData(family: MetricFamily, startTime: HrTime, endTime: HrTime): MetricData {
  const descriptor = { name: family.otel.name, description: family.help, unit: family.otel.unit, valueType: ValueType.DOUBLE };
  const point = <T>(labels: Attributes, value: T) => ({ startTime, endTime, attributes: labels, value });
  if (family.type === "histogram") {
    return {
      descriptor,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: family.points.map((p) =>
        point(p.labels, { buckets: { boundaries: [...family.bounds], counts: [...p.counts] }, count: p.count, sum: p.sum }),
      ),
    };
  }
  if (family.type === "counter") {
    return {
      descriptor,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: family.samples.map((s) => point(s.labels, s.value)),
    };
  }
  return {
    descriptor,
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: family.samples.map((s) => point(s.labels, s.value)),
  };
}

async function metricExporter(protocol: OtlpProtocol): Promise<PushMetricExporter> {
  if (protocol === "http/json") {
    const { OTLPMetricExporter } = await import("@opentelemetry/exporter-metrics-otlp-http");
    return new OTLPMetricExporter();
  }
  const { OTLPMetricExporter } = await import("@opentelemetry/exporter-metrics-otlp-proto");
  return new OTLPMetricExporter();
}

function positive(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && value.trim() !== "" && Number.isFinite(n) && n > 0 ? n : undefined;
}
