/**
 * Tracing for `forager run`: started only when an OTLP endpoint is set, so a
 * plain run loads no OpenTelemetry code; flushed before the process exits.
 */
import { EventBus } from "../events/bus.js";
import { telemetrySettings } from "../telemetry/settings.js";
import { validTraceparent } from "../telemetry/traceparent.js";
import type { LlmProvider } from "../llm/types.js";
import type { CliContext } from "./context.js";

/** The longest `run` waits for its spans to be exported after the execution. */
const MAX_FLUSH_MS = 5000;
/** Even a run that used its whole timeout gets this long, so the trace of a timed-out run is not lost. */
const MIN_FLUSH_MS = 1000;

export interface RunTelemetry {
  /** What runOnce needs: the traced bus and the parent from TRACEPARENT. */
  runOptions: { bus: EventBus; traceparent?: string; wrapLlm: (llm: LlmProvider) => LlmProvider };
  /** Exports the run's spans, bounded by the run's timeout (at most 5 s). */
  flush(): Promise<void>;
}

export async function startRunTelemetry(ctx: CliContext, timeoutSeconds: number | undefined): Promise<RunTelemetry | undefined> {
  if (!telemetrySettings(ctx.env).traces) return undefined;
  const startedMs = Date.now();
  const { startTelemetry } = await import("../telemetry/index.js");
  const logger = ctx.logger();
  const telemetry = await startTelemetry({ env: ctx.env, logger });
  if (!telemetry) return undefined;
  const bus = new EventBus({ logger });
  telemetry.traceExecutions(bus);
  // A CI job that is itself traced passes its context down, as otel-cli and others do.
  const traceparent = validTraceparent(ctx.env.TRACEPARENT);
  return {
    runOptions: { bus, wrapLlm: (llm) => telemetry.wrapLlm(llm), ...(traceparent ? { traceparent } : {}) },
    flush() {
      const left = timeoutSeconds === undefined ? MAX_FLUSH_MS : startedMs + timeoutSeconds * 1000 - Date.now();
      return telemetry.shutdown(Math.min(MAX_FLUSH_MS, Math.max(MIN_FLUSH_MS, left)));
    },
  };
}
