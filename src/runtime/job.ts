/**
 * One execution as the runtime tracks it between trigger and result. Kept
 * small on purpose: thousands may sit in queues at once.
 */
import type { Agent, ResolvedEntryPoint } from "../config/schema.js";
import type { ExecutionRecord, ExecutionResult, ExecutionStatus } from "../result.js";
import { emptyUsage } from "../result.js";
import { mergeLimits } from "../graph/limits.js";
import type { EventInit } from "../events/types.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logging/index.js";
import type { Clock } from "../util/clock.js";
import { newExecutionId, newSessionId } from "../util/ids.js";
import type { ExecutionRequest } from "./execution-runner.js";

export type JobPhase = "queued" | "running" | "finished";

export interface JobOwner {
  readonly agentName: string;
  readonly entryPointId: string;
}

export interface Job {
  readonly id: string;
  sessionId: string;
  readonly owner: JobOwner;
  /**
   * The definition the execution was accepted with. It runs on this one even
   * when the agent files are reloaded before it starts or while it runs.
   */
  readonly agent: Agent;
  readonly entryPoint: ResolvedEntryPoint;
  readonly input: Record<string, unknown>;
  readonly queuedAtMs: number;
  readonly idempotencyKey?: string;
  /** The W3C traceparent the trigger carried: the execution's trace continues it, however long it queued. */
  readonly traceparent?: string;
  /** The execution this one re-runs. */
  readonly rerunOf?: string;
  /**
   * Event triggers only: the entry point keys upstream of this execution,
   * its own last (loop protection, event-triggers.ts). In the job data so the
   * process that starts the job knows it without having admitted it.
   */
  readonly chain?: readonly string[];
  phase: JobPhase;
  /** Set while the job waits for the agent mutex or a global slot: withdraws that request. */
  withdraw?: () => boolean;
  controller?: AbortController;
  /** Why the job was cancelled, once someone asked. */
  cancelReason?: string;
  /** The admission record's write; the executor's first write waits for it so it is never overwritten. */
  persisted?: Promise<void>;
  /** The admission record already says running: the executor need not save it again. */
  recordedRunning?: boolean;
  startedAtMs?: number;
  result?: ExecutionResult;
  /** Resolves when the job has finished (created on demand). */
  done?: Promise<ExecutionResult>;
  resolveDone?: (result: ExecutionResult) => void;
  /** Holds the agent's synchronized-isolation mutex / a global slot; released when it finishes. */
  holdsMutex?: boolean;
  holdsSlot?: boolean;
  /** The fence of the agent-mutex grant: the execution's state writes carry it (storage/fenced-state.ts). */
  mutexFence?: number;
  /** Which start of the execution this is (cluster: 2 after a lost worker); the executor emits it. */
  attempt?: number;
  /** Fields every record of this execution carries besides the executor's (cluster: `attempt`, `attempts`, `node`). */
  recordExtra?: Pick<ExecutionResult, "attempt" | "attempts" | "node">;
  /** Cluster: this node lost the job's lock; another node may run it, so this attempt writes no record. */
  lockLost?: boolean;
}

/** A new queued job of an entry point (a new execution in a new session), as every queue admits one. */
export function newJob(
  stream: { agentName: string; id: string; agent: Agent; entryPoint: ResolvedEntryPoint },
  input: Record<string, unknown>,
  options: { idempotencyKey?: string; traceparent?: string; rerunOf?: string; chain?: readonly string[] },
  nowMs: number,
): Job {
  return {
    id: newExecutionId(nowMs),
    sessionId: newSessionId(nowMs),
    owner: { agentName: stream.agentName, entryPointId: stream.id },
    agent: stream.agent,
    entryPoint: stream.entryPoint,
    input,
    queuedAtMs: nowMs,
    idempotencyKey: options.idempotencyKey,
    ...(options.traceparent ? { traceparent: options.traceparent } : {}),
    rerunOf: options.rerunOf,
    ...(options.chain ? { chain: options.chain } : {}),
    phase: "queued",
  };
}

/** The `execution_queued` event of a job that waits for a slot (published by whichever queue admitted it). */
export function queuedEvent(job: Job): EventInit {
  return {
    type: "execution_queued",
    graph_id: job.owner.agentName,
    stream_id: job.owner.entryPointId,
    execution_id: job.id,
    session_id: job.sessionId,
    data: { queued_at: new Date(job.queuedAtMs).toISOString() },
  };
}

export function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** What a job looks like to `getExecution` while it has not finished. */
export function liveResult(job: Job): ExecutionResult {
  return {
    schema_version: 1,
    execution_id: job.id,
    session_id: job.sessionId,
    agent: job.owner.agentName,
    entry_point: job.owner.entryPointId,
    status: job.phase === "running" ? "running" : "queued",
    success: false,
    output: {},
    error: null,
    path: [],
    steps_executed: 0,
    usage: emptyUsage(),
    started_at: iso(job.startedAtMs),
    finished_at: null,
    duration_ms: null,
    input: job.input,
    ...(job.rerunOf === undefined ? {} : { rerun_of: job.rerunOf }),
    ...job.recordExtra,
  };
}

/** The record written when a job is admitted: queued, or running when it started at once. */
export function queuedRecord(job: Job): ExecutionRecord {
  return {
    ...liveResult(job),
    input: job.input,
    queued_at: new Date(job.queuedAtMs).toISOString(),
    ...(job.idempotencyKey === undefined ? {} : { idempotency_key: job.idempotencyKey }),
  };
}

/** A job that ends without the executor having run it (cancelled while queued, or could not start). */
export function unrunRecord(
  job: Job,
  status: ExecutionStatus,
  error: { code: string; message: string; reason?: string },
  nowMs: number,
): ExecutionRecord {
  return {
    ...queuedRecord(job),
    status,
    success: false,
    error: { code: error.code, message: error.message, node_id: null, ...(error.reason ? { reason: error.reason } : {}) },
    finished_at: new Date(nowMs).toISOString(),
    duration_ms: job.startedAtMs === undefined ? 0 : nowMs - job.startedAtMs,
  };
}

/**
 * A job whose runner threw instead of returning its result (a broken
 * contract: the runner records every failure itself), logged and made a
 * failed record so a queue can end it like any other.
 */
export function runnerFailure(job: Job, err: unknown, host: { logger: Logger; clock: Clock }): ExecutionRecord {
  host.logger.error({ err, execution_id: job.id }, "the execution runner threw: the execution is recorded as failed");
  return unrunRecord(job, "failed", { code: "startup_failed", message: errorMessage(err) }, host.clock.now());
}

/** What the runner needs to run a job: the definition it was accepted with, whatever a reload did since. */
export function executionRequest(job: Job): ExecutionRequest {
  return {
    agent: job.agent,
    entryPoint: job.entryPoint,
    input: job.input,
    executionId: job.id,
    sessionId: job.sessionId,
    limits: mergeLimits(job.agent.graph.limits, job.entryPoint.limits),
    queuedAt: new Date(job.queuedAtMs).toISOString(),
    idempotencyKey: job.idempotencyKey,
    traceparent: job.traceparent,
    rerunOf: job.rerunOf,
    recordedAtStart: job.recordedRunning === true,
    ...(job.attempt === undefined ? {} : { attempt: job.attempt }),
  };
}

/** The promise that resolves with the job's result; created lazily so queued jobs stay light. */
export function whenDone(job: Job): Promise<ExecutionResult> {
  if (job.result) return Promise.resolve(job.result);
  if (!job.done) {
    job.done = new Promise<ExecutionResult>((resolve) => {
      job.resolveDone = resolve;
    });
  }
  return job.done;
}

export function settle(job: Job, result: ExecutionResult): void {
  job.phase = "finished";
  job.result = result;
  job.withdraw = undefined;
  job.controller = undefined;
  job.resolveDone?.(result);
  job.resolveDone = undefined;
}
