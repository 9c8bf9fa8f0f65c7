/**
 * OpenTelemetry export (SPEC 10), loaded only when the environment asks for
 * it: `startTelemetry` reads the OTEL_* variables and, only if an OTLP
 * endpoint is set, imports the SDK (a separate module, so a process without
 * the variables never loads any `@opentelemetry` package).
 */
import type { Logger } from "../logging/index.js";
import type { Telemetry } from "./types.js";
import { telemetrySettings } from "./settings.js";

export { telemetrySettings, type TelemetrySettings } from "./settings.js";
export { validTraceparent } from "./traceparent.js";
export type { MetricFamily } from "./metric-family.js";
export type { Telemetry } from "./types.js";

export interface StartTelemetryOptions {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Service version reported in the resource. */
  version?: string;
}

/** Starts exporting when an OTLP endpoint is configured; undefined (and nothing loaded) otherwise. */
export async function startTelemetry(options: StartTelemetryOptions): Promise<Telemetry | undefined> {
  const settings = telemetrySettings(options.env);
  if (!settings.traces && !settings.metrics) return undefined;
  const logger = options.logger.child({ component: "telemetry" });
  for (const name of settings.unsupported) {
    logger.warn({ protocol: name }, `OTLP protocol "${name}" is not supported: exporting with http/protobuf (set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf or http/json)`);
  }
  try {
    const { createOtelTelemetry } = await import("./sdk.js");
    return createOtelTelemetry(settings, { logger, env: options.env, version: options.version });
  } catch (err) {
    // Telemetry must never stop a run or a server from starting.
    logger.warn({ err }, "OpenTelemetry could not start: nothing will be exported");
    return undefined;
  }
}
