/**
 * The executor's contract: run one execution of an agent from an entry
 * point to the end, and return its result. The runtime (queues, streams,
 * timers) and `forager run` both call `executeGraph` through this shape.
 */
import type { Agent, Limits, ResolvedEntryPoint } from "../config/schema.js";
import type { EventPublisher } from "../events/types.js";
import type { LlmProvider } from "../llm/types.js";
import type { Logger } from "../logging/index.js";
import type { ExecutionResult } from "../result.js";
import type { SessionStore, StateStore } from "../storage/types.js";
import type { ToolResolver } from "../tools/types.js";
import type { Clock } from "../util/clock.js";
import type { FunctionPool } from "./nodes/function-pool.js";

export interface ExecuteOptions {
  agent: Agent;
  entryPoint: ResolvedEntryPoint;
  input: Record<string, unknown>;
  executionId: string;
  sessionId: string;
  /** 1 for a first run; higher when the same trigger is re-run. */
  attempt?: number;
  /** Aborting it cancels the execution; its reason (an Error or string) becomes the cancel reason. */
  signal: AbortSignal;
  bus: EventPublisher;
  /** Where the execution's record and events are written; none = nothing on disk. */
  store?: SessionStore;
  state: StateStore;
  /** Needed when the graph has llm nodes. */
  llm?: LlmProvider;
  tools: ToolResolver;
  /** @internal The worker threads function nodes run in; default: a process-wide pool whose idle workers never hold the process. */
  functions?: FunctionPool;
  logger: Logger;
  clock?: Clock;
  /** The entry point's limits merged with the graph's (stricter wins) plus any CLI --timeout. */
  limits?: Limits;
  /** @internal What set the timeout, named in the timed-out message; default `limits.timeout_seconds`. */
  timeoutSource?: string;
  /** When the execution was queued (ISO); defaults to now. */
  queuedAt?: string;
  idempotencyKey?: string;
  /** The W3C `traceparent` the trigger carried (already validated): the execution's trace continues it. */
  traceparent?: string;
  /** The execution this one re-runs; kept in the record as `rerun_of`. */
  rerunOf?: string;
  /**
   * @internal
   * The caller already saved this execution's record with status running
   * (so a trigger is on disk before it is acknowledged): skip the first save.
   */
  recordedAtStart?: boolean;
}

export type ExecuteGraph = (options: ExecuteOptions) => Promise<ExecutionResult>;
