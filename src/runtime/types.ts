/**
 * The narrow surface the server, the CLI and timers use to talk to the
 * runtime. The server never reaches into runtime internals.
 */
import { ForagerError } from "../errors.js";
import type { EventFilter, EventHandler, EventInit, ForagerEvent, SubscribeOptions } from "../events/types.js";
import type { ExecutionResult, ExecutionStatus } from "../result.js";
import type { ExecutionSummary, ListQuery } from "../storage/types.js";

export type LifecycleState = "created" | "starting" | "running" | "stopping" | "stopped";

export interface TriggerRequest {
  /** Optional when one agent is loaded. */
  agent?: string;
  entryPoint: string;
  input?: Record<string, unknown>;
  idempotencyKey?: string;
  /** A valid W3C traceparent from the request: the execution's trace continues it. */
  traceparent?: string;
  /** The execution this one re-runs (set by `rerun`). */
  rerunOf?: string;
}

export interface IngestOptions {
  /** A valid W3C traceparent from the webhook request: the executions it starts continue that trace. */
  traceparent?: string;
}

export type TriggerOutcome =
  | {
      status: "queued" | "running" | ExecutionStatus;
      execution_id: string;
      session_id: string;
      /** True when an idempotency key matched an earlier trigger: nothing new started. */
      duplicate?: boolean;
    }
  | { status: "skipped"; reason: string }
  | { status: "rejected"; reason: string; retry_after_seconds: number };

/** What `rerun` did: a trigger outcome, with the id it re-ran when an execution started or queued. */
export type RerunOutcome = TriggerOutcome & { rerun_of: string };

/** A request that named something that does not exist, or input that fails its schema; `code` is `kind`. */
export class TriggerError extends ForagerError {
  readonly kind: "not_found" | "invalid_input" | "not_running";
  readonly details?: unknown;
  constructor(kind: TriggerError["kind"], message: string, details?: unknown) {
    super(kind, message);
    this.name = "TriggerError";
    this.kind = kind;
    this.details = details;
  }
}

export type IngestOutcome =
  | { status: "accepted"; event: ForagerEvent; executions: string[] }
  /** Every matching entry point's queue is full: nothing was recorded. */
  | { status: "full"; retry_after_seconds: number };

export interface StreamStats {
  agent: string;
  entry_point: string;
  trigger_type: string;
  status_counts: Record<"queued" | "running" | "completed" | "failed" | "cancelled", number> &
    Partial<Record<ExecutionStatus, number>>;
  max_concurrent: number;
  available_slots: number;
  agent_idle_seconds: number | null;
}

export interface TimerStats {
  paused: boolean;
  next_run_at: string | null;
  last_fired_at: string | null;
  fired: number;
  skipped: number;
}

export interface RuntimeStats {
  running: boolean;
  uptime_seconds: number;
  timers_paused: boolean;
  active_executions: number;
  queued_executions: number;
  max_concurrent_executions: number;
  streams: Record<string, StreamStats>;
  timers: Record<string, TimerStats>;
  /** Cluster mode only (SPEC 9): the live nodes. */
  nodes?: { id: string; host: string; pid: number; started_at: string; running: number }[];
  event_bus: {
    total_events: number;
    subscriptions: number;
    events_by_type: Record<string, number>;
    dropped_from_history: number;
    subscriber_errors: number;
  };
}

export interface WaitOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface StopOptions {
  /** How long running executions may take to finish before they are cancelled. */
  graceMs?: number;
}

/** What the server and the CLI need from a running runtime. */
export interface RuntimeHandle {
  readonly state: LifecycleState;
  agentNames(): string[];
  /** @internal */
  submit(request: TriggerRequest): Promise<TriggerOutcome>;
  /**
   * @internal
   * Records an external event (a webhook) durably, then triggers the event
   * entry points it matches. Resolves only after the event and the queued
   * executions are on disk.
   */
  ingest(init: EventInit, options?: IngestOptions): Promise<IngestOutcome>;
  getExecution(executionId: string): Promise<ExecutionResult | undefined>;
  listExecutions(query?: ListQuery): Promise<ExecutionSummary[]>;
  cancel(executionId: string, reason?: string): Promise<ExecutionResult | undefined>;
  /**
   * Starts a new execution of a known one's agent and entry point with its
   * input; the new record carries `rerun_of`. Undefined for an unknown id.
   */
  rerun(executionId: string): Promise<RerunOutcome | undefined>;
  waitForCompletion(executionId: string, options?: WaitOptions): Promise<ExecutionResult | undefined>;
  /** Resolves once timers are paused (everywhere the runtime's timers fire). */
  pauseTimers(): Promise<void>;
  resumeTimers(): Promise<void>;
  /** The last known pause state, cached: it never waits on a backend. */
  readonly timersPaused: boolean;
  /** Async because a shared backend answers with a round trip; in process it resolves at once. */
  getStats(): Promise<RuntimeStats>;
  /** `options.scope`: `local` (default) for this process's events, `cluster` for every process's (SubscriptionScope). */
  subscribe(handler: EventHandler, filter?: EventFilter, options?: SubscribeOptions): () => void;
  stop(options?: StopOptions): Promise<void>;
}
