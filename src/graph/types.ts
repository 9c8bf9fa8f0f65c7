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

/** Everything one execution needs: what to run, with which ids, and the parts it talks to. */
export interface ExecuteOptions {
  /** The agent whose graph runs. */
  agent: Agent;
  /** The entry point it runs from, with its entry node and policies resolved. */
  entryPoint: ResolvedEntryPoint;
  /** The trigger's input: the execution's memory starts from it. */
  input: Record<string, unknown>;
  /** The id the result and events carry. */
  executionId: string;
  /** The session the execution belongs to. */
  sessionId: string;
  /** 1 for a first run; higher when the same trigger is re-run. */
  attempt?: number;
  /** Aborting it cancels the execution; its reason (an Error or string) becomes the cancel reason. */
  signal: AbortSignal;
  /** Where the execution's events are published. */
  bus: EventPublisher;
  /** Where the execution's record and events are written; none = nothing on disk. */
  store?: SessionStore;
  /** The agent's shared state (`state.*` keys). */
  state: StateStore;
  /** Needed when the graph has llm nodes. */
  llm?: LlmProvider;
  /** Resolves the tools the graph's nodes name. */
  tools: ToolResolver;
  /** @internal The worker threads function nodes run in; default: a process-wide pool whose idle workers never hold the process. */
  functions?: FunctionPool;
  /** Where the execution logs; the executor adds the execution's ids to each line. */
  logger: Logger;
  /** Time source of timestamps and the timeout; default the system clock. */
  clock?: Clock;
  /** The entry point's limits merged with the graph's (stricter wins) plus any CLI --timeout. */
  limits?: Limits;
  /** @internal What set the timeout, named in the timed-out message; default `limits.timeout_seconds`. */
  timeoutSource?: string;
  /** When the execution was queued (ISO); defaults to now. */
  queuedAt?: string;
  /** The trigger's idempotency key, kept in the record. */
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

/** Runs one execution to its end and resolves with its result: a failed run is a result with its status and error, not a rejection. */
export type ExecuteGraph = (options: ExecuteOptions) => Promise<ExecutionResult>;
