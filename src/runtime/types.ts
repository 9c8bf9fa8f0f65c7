/**
 * The narrow surface the server, the CLI and timers use to talk to the
 * runtime. The server never reaches into runtime internals.
 */
import { ForagerError } from "../errors.js";
import type { EventFilter, EventHandler, EventInit, ForagerEvent, SubscribeOptions } from "../events/types.js";
import type { ExecutionResult, ExecutionStatus } from "../result.js";
import type { ExecutionSummary, ListQuery } from "../storage/types.js";

/** Where a runtime is in its life: created → starting → running → stopping → stopped; it never goes back. */
export type LifecycleState = "created" | "starting" | "running" | "stopping" | "stopped";

/** One request to start an execution, as the server and the CLI make it. */
export interface TriggerRequest {
  /** Optional when one agent is loaded. */
  agent?: string;
  /** The id of the entry point to run. */
  entryPoint: string;
  /** The execution's input, checked against the entry point's `input_schema`; default `{}`. */
  input?: Record<string, unknown>;
  /** A repeat of a trigger with the same key returns the first execution instead of starting another. */
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

/**
 * What a trigger request did: an execution started, queued (or was found by
 * its idempotency key), or none did because the overlap policy skipped the
 * trigger or a full queue rejected it.
 */
export type TriggerOutcome =
  | {
      /** The execution's status when the answer was made. */
      status: "queued" | "running" | ExecutionStatus;
      /** The execution started, queued or found. */
      execution_id: string;
      /** The session it runs in. */
      session_id: string;
      /** True when an idempotency key matched an earlier trigger: nothing new started. */
      duplicate?: boolean;
    }
  | {
      /** The overlap policy (`skip`) left the trigger out: the entry point was busy. */
      status: "skipped";
      /** Why, in words. */
      reason: string;
    }
  | {
      /** The entry point refused the trigger: its queue was full, or overlap `reject` while busy. */
      status: "rejected";
      /** Why, in words. */
      reason: string;
      /** Seconds until a retry may succeed (the average execution time, at least 1): the server's `Retry-After`. */
      retry_after_seconds: number;
    };

/** What `rerun` did: a trigger outcome, with the id it re-ran when an execution started or queued. */
export type RerunOutcome = TriggerOutcome & {
  /** The id of the execution re-run. */
  rerun_of: string;
};

/** A request that named something that does not exist, or input that fails its schema; `code` is `kind`. */
export class TriggerError extends ForagerError {
  /** `not_found`: no such agent or entry point; `invalid_input`: the input fails the schema; `not_running`: the runtime does not accept triggers. */
  readonly kind: "not_found" | "invalid_input" | "not_running";
  /** For `invalid_input`, the input's problems, one string each. */
  readonly details?: unknown;
  constructor(kind: TriggerError["kind"], message: string, details?: unknown) {
    super(kind, message);
    this.name = "TriggerError";
    this.kind = kind;
    this.details = details;
  }
}

/** What recording an external event (a webhook) did: accepted, with the executions it started, or refused as full. */
export type IngestOutcome =
  | {
      /** The event is recorded and its executions queued. */
      status: "accepted";
      /** The event as recorded, with its id and time. */
      event: ForagerEvent;
      /** The ids of the executions the event started, one per matching event entry point that took it. */
      executions: string[];
    }
  | {
      /** Every matching entry point's queue is full: nothing was recorded. */
      status: "full";
      /** Seconds until a retry may succeed: the server's `Retry-After`. */
      retry_after_seconds: number;
    };

/** One entry point's counters in RuntimeStats (SPEC 4.5). */
export interface StreamStats {
  /** The agent's name. */
  agent: string;
  /** The entry point's id. */
  entry_point: string;
  /** `manual`, `api`, `timer` or `event`. */
  trigger_type: string;
  /** This process's executions of the entry point, by status. */
  status_counts: Record<"queued" | "running" | "completed" | "failed" | "cancelled", number> &
    Partial<Record<ExecutionStatus, number>>;
  /** How many executions of the entry point may run at once. */
  max_concurrent: number;
  /** How many more could start now. */
  available_slots: number;
  /** Seconds since the agent's running executions last did something; null when none runs. */
  agent_idle_seconds: number | null;
}

/** One timer entry point's schedule and counters in RuntimeStats. */
export interface TimerStats {
  /** True while timers are paused: ticks are skipped. */
  paused: boolean;
  /** The next tick (ISO 8601); null when none is scheduled. */
  next_run_at: string | null;
  /** The last tick that fired (ISO 8601); null before the first. */
  last_fired_at: string | null;
  /** Ticks that fired. */
  fired: number;
  /** Ticks skipped (paused, busy or missed). */
  skipped: number;
}

/** A snapshot of a runtime's counters (SPEC 4.5): what `GET /stats` answers and `getStats()` resolves with. */
export interface RuntimeStats {
  /** True while the runtime is running. */
  running: boolean;
  /** Seconds since the runtime started; 0 before `start()`. */
  uptime_seconds: number;
  /** True while timers are paused. */
  timers_paused: boolean;
  /** Executions running now. */
  active_executions: number;
  /** Executions accepted and waiting for a slot. */
  queued_executions: number;
  /** The global limit on executions running at once (`runtime.max_concurrent_executions`). */
  max_concurrent_executions: number;
  /** Per entry point, keyed `agent/entry_point`. */
  streams: Record<string, StreamStats>;
  /** Per timer entry point, keyed `agent/entry_point`. */
  timers: Record<string, TimerStats>;
  /** Cluster mode only (SPEC 9): the live nodes. */
  nodes?: {
    /** The node's id. */
    id: string;
    /** The host it runs on. */
    host: string;
    /** Its process id on that host. */
    pid: number;
    /** When it joined (ISO 8601). */
    started_at: string;
    /** Executions it runs now. */
    running: number;
  }[];
  /** The event bus's counters. */
  event_bus: {
    /** Events published since the runtime started. */
    total_events: number;
    /** Subscribers listening now. */
    subscriptions: number;
    /** Events published, by type. */
    events_by_type: Record<string, number>;
    /** Events pushed out of the bounded history by newer ones. */
    dropped_from_history: number;
    /** Subscriber calls that threw or rejected. */
    subscriber_errors: number;
  };
}

/** How long `waitForCompletion` waits. */
export interface WaitOptions {
  /** Give up after this many milliseconds and resolve undefined; default: wait until the execution finishes. */
  timeoutMs?: number;
  /** Stop waiting when aborted: the wait rejects with the signal's reason (the execution goes on). */
  signal?: AbortSignal;
}

/** How `stop()` treats executions still running. */
export interface StopOptions {
  /** How long running executions may take to finish before they are cancelled; default `runtime.shutdown_grace_seconds`. */
  graceMs?: number;
}

/** What the server and the CLI need from a running runtime. */
export interface RuntimeHandle {
  /** The lifecycle state: created → starting → running → stopping → stopped. */
  readonly state: LifecycleState;
  /** The names of the agents loaded. */
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
  /** An execution's result JSON, running or finished; undefined for an unknown id. */
  getExecution(executionId: string): Promise<ExecutionResult | undefined>;
  /** Executions in storage, newest first, narrowed by `query`. */
  listExecutions(query?: ListQuery): Promise<ExecutionSummary[]>;
  /** Cancels a queued or running execution and resolves with its result once it has stopped; undefined for an unknown id. */
  cancel(executionId: string, reason?: string): Promise<ExecutionResult | undefined>;
  /**
   * Starts a new execution of a known one's agent and entry point with its
   * input; the new record carries `rerun_of`. Undefined for an unknown id.
   */
  rerun(executionId: string): Promise<RerunOutcome | undefined>;
  /** The execution's result once it has finished; undefined on timeout or for an unknown id. */
  waitForCompletion(executionId: string, options?: WaitOptions): Promise<ExecutionResult | undefined>;
  /** Resolves once timers are paused (everywhere the runtime's timers fire). */
  pauseTimers(): Promise<void>;
  /** Resolves once timers fire again (everywhere the runtime's timers fire). */
  resumeTimers(): Promise<void>;
  /** The last known pause state, cached: it never waits on a backend. */
  readonly timersPaused: boolean;
  /** Async because a shared backend answers with a round trip; in process it resolves at once. */
  getStats(): Promise<RuntimeStats>;
  /** `options.scope`: `local` (default) for this process's events, `cluster` for every process's (SubscriptionScope). */
  subscribe(handler: EventHandler, filter?: EventFilter, options?: SubscribeOptions): () => void;
  /** Stops the runtime: intake and timers first, then running executions after a grace period. Idempotent. */
  stop(options?: StopOptions): Promise<void>;
}
