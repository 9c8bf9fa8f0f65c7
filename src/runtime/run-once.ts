/**
 * One execution, start to finish, with no daemon around it: what
 * `forager run` does. Storage, tools and the LLM provider live exactly as
 * long as the execution.
 */
import type { Agent, Limits, ResolvedEntryPoint } from "../config/schema.js";
import { UsageError } from "../errors.js";
import { EventBus } from "../events/bus.js";
import type { ForagerEvent } from "../events/types.js";
import { mergeLimits } from "../graph/limits.js";
import type { LlmProvider } from "../llm/types.js";
import type { Logger } from "../logging/index.js";
import type { ExecutionResult } from "../result.js";
import { applyRetention } from "../storage/retention.js";
import { FileSessionStore } from "../storage/sessions.js";
import { FileStateStore } from "../storage/state.js";
import { systemClock } from "../util/clock.js";
import { jsonSchemaErrors } from "../util/json-schema.js";
import { newExecutionId, newSessionId } from "../util/ids.js";
import { ExecutionRunner, openStorage, usesState } from "./execution-runner.js";
import type { FunctionPool } from "../graph/nodes/function-pool.js";

export interface RunOnceOptions {
  agent: Agent;
  /** Entry point id; default: `default`, or the only manual/api one. */
  entryPoint?: string;
  input: Record<string, unknown>;
  storagePath: string;
  /** `--timeout`: seconds; the stricter of this and the file's limits wins. */
  timeoutSeconds?: number;
  record?: string;
  replay?: string;
  signal: AbortSignal;
  logger: Logger;
  /** Called for every event of the execution (progress display). */
  onEvent?: (event: ForagerEvent) => void;
  /** The bus to publish on, when the caller also listens to it (tracing); drained before runOnce resolves. */
  bus?: EventBus;
  /** A valid W3C traceparent (TRACEPARENT): the execution's trace continues it. */
  traceparent?: string;
  /** Wraps the provider the execution calls (tracing sees prompts and failed calls); runOnce still closes the original. */
  wrapLlm?: (llm: LlmProvider) => LlmProvider;
  /** The function worker pool, when the caller started one early (`run` does, while the file is checked); runOnce closes it. */
  functions?: FunctionPool;
}

/** The entry point `run` uses when none is named. */
export function chooseEntryPoint(agent: Agent, requested?: string): ResolvedEntryPoint {
  const ids = agent.entry_points.map((ep) => ep.id);
  if (requested !== undefined) {
    const found = agent.entry_points.find((ep) => ep.id === requested);
    if (!found) {
      throw new UsageError(`unknown entry point "${requested}" in agent ${agent.name}; it has: ${ids.join(", ")}`);
    }
    return found;
  }
  const byDefault = agent.entry_points.find((ep) => ep.id === "default");
  if (byDefault) return byDefault;
  const direct = agent.entry_points.filter((ep) => ep.trigger_type === "manual" || ep.trigger_type === "api");
  if (direct.length === 1) return direct[0]!;
  if (direct.length === 0) {
    throw new UsageError(`agent ${agent.name} has no manual or api entry point; choose one with --entry (${ids.join(", ")})`);
  }
  throw new UsageError(
    `agent ${agent.name} has several entry points; choose one with --entry: ${direct.map((ep) => ep.id).join(", ")}`,
  );
}

/** The graph's limits, the entry point's and `--timeout`: the stricter of each wins. */
export function executionLimits(agent: Agent, entryPoint: ResolvedEntryPoint, timeoutSeconds?: number): Limits {
  return mergeLimits(agent.graph.limits, entryPoint.limits, timeoutSeconds === undefined ? undefined : { timeout_seconds: timeoutSeconds });
}

export async function runOnce(options: RunOnceOptions): Promise<ExecutionResult> {
  const { agent, logger } = options;
  const entryPoint = chooseEntryPoint(agent, options.entryPoint);
  if (entryPoint.input_schema) {
    const problems = jsonSchemaErrors(entryPoint.input_schema, options.input);
    if (problems.length > 0) {
      throw new UsageError(`input does not match entry point ${entryPoint.id}'s input_schema: ${problems.join("; ")}`);
    }
  }
  const limits = executionLimits(agent, entryPoint, options.timeoutSeconds);
  const executionId = newExecutionId();
  const sessionId = newSessionId();
  const log = logger.child({ agent: agent.name, entry_point: entryPoint.id, execution_id: executionId, session_id: sessionId });
  if ((options.record || options.replay) && !agent.graph.nodes.some((node) => node.type === "llm")) {
    log.warn("--record/--replay given, but this agent has no llm nodes: nothing to record or replay");
  }

  const state = new FileStateStore(options.storagePath);
  // Session folders are swept for leftover temp files by `serve`; a run visits only those it recovers.
  const store = new FileSessionStore(options.storagePath, { logger, sweepSessionFolders: false });
  const bus = options.bus ?? new EventBus({ logger });
  const runner = new ExecutionRunner({
    bus,
    store,
    state,
    clock: systemClock,
    logger,
    provider: { logger: log, record: options.record, replay: options.replay },
    wrapLlm: options.wrapLlm,
    functions: options.functions,
  });
  const closeRunner = () => runner.close((err) => log.error({ err }, "cleanup after the run failed"));
  // No worker thread starts unless the agent has function nodes; then one starts now, beside the storage set-up.
  runner.prewarm(agent);
  try {
    // Only an entry point that can see the state needs it readable; checked before anything is written.
    await openStorage({ store, state, logger }, usesState(entryPoint) ? [agent.name] : []);
  } catch (err) {
    await closeRunner();
    throw err;
  }
  const unsubscribe = options.onEvent ? bus.subscribe(options.onEvent) : () => {};
  try {
    // Nothing is recorded before the executor starts, so an execution that cannot start is the caller's error (no record).
    return await runner.run(
      {
        agent,
        entryPoint,
        input: options.input,
        executionId,
        sessionId,
        limits,
        // The flag set the timeout when it was the stricter one: blame the flag, not the file.
        ...(options.timeoutSeconds !== undefined && limits.timeout_seconds === options.timeoutSeconds ? { timeoutSource: "--timeout" } : {}),
        ...(options.traceparent ? { traceparent: options.traceparent } : {}),
      },
      options.signal,
    );
  } finally {
    // Every cleanup runs even when one fails: MCP children, recordings and
    // buffered event logs must not be lost.
    await closeRunner();
    const steps: Array<() => Promise<unknown>> = [() => bus.drain(), () => store.flush()];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        log.error({ err }, "cleanup after the run failed");
      }
    }
    unsubscribe();
    const retention = agent.runtime.session_retention;
    if (retention) {
      await applyRetention(store, retention).catch((err: unknown) => log.warn({ err }, "session retention failed"));
    }
  }
}
