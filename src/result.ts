/** The result JSON of SPEC section 7: what `run --json` prints and the API returns. */

/** Every status an execution can have, in lifecycle order: queued and running, then the terminal ones. */
export const EXECUTION_STATUSES = [
  "queued",
  "running",
  "completed",
  "failed",
  "cancelled",
  "timed_out",
  "budget_exceeded",
  "interrupted",
] as const;

/** Where an execution stands; one of EXECUTION_STATUSES. Only `completed` counts as success. */
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export const TERMINAL_STATUSES: readonly ExecutionStatus[] = [
  "completed",
  "failed",
  "cancelled",
  "timed_out",
  "budget_exceeded",
  "interrupted",
];

/** True when the status is final: the execution has ended and its result will not change. */
export function isTerminal(status: ExecutionStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Why an execution did not complete: `error` in the result JSON, null on success. */
export interface ExecutionError {
  /** Stable code: node_failed, output_missing, max_steps_exceeded, timed_out, budget_exceeded, cancelled, ... */
  code: string;
  /** What went wrong, in words, for a person. */
  message: string;
  /** The node that failed or was running when the execution stopped; absent or null when no node was to blame. */
  node_id?: string | null;
  /** For cancellations: "user", "shutdown", "cancel_previous", "signal". */
  reason?: string;
}

/** What an execution consumed, counted against the agent's limits. */
export interface Usage {
  /** LLM calls made, counted against `max_llm_calls`. */
  llm_calls: number;
  /** Tool calls made, counted against `max_tool_calls`. */
  tool_calls: number;
  /** Prompt tokens the provider reported. */
  input_tokens: number;
  /** Completion tokens the provider reported. */
  output_tokens: number;
  /** Estimated cost in US dollars, from the model's pricing. */
  cost_usd: number;
}

export function emptyUsage(): Usage {
  return { llm_calls: 0, tool_calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };
}

/** The result JSON of one execution (SPEC 7): what `run --json` prints, `GET /executions/{id}` answers and `waitForCompletion` resolves with. */
export interface ExecutionResult {
  /** The version of this shape: 1. */
  schema_version: 1;
  /** The execution's id: what getExecution, cancel and rerun take. */
  execution_id: string;
  /** The session the execution ran in; on disk, `<storage>/<agent>/sessions/<session_id>/`. */
  session_id: string;
  /** The agent's name. */
  agent: string;
  /** The entry point's id. */
  entry_point: string;
  /** Where the execution stands; terminal once it has finished. */
  status: ExecutionStatus;
  /** True exactly when `status` is `completed`. */
  success: boolean;
  /** The graph's `output_keys` (or every key written when it declares none) as the execution left them. */
  output: Record<string, unknown>;
  /** Why the execution did not complete; null while it runs and on success. */
  error: ExecutionError | null;
  /** The ids of the nodes run, in order, a node repeated each time it ran. */
  path: string[];
  /** How many node runs the execution took: the length of `path`. */
  steps_executed: number;
  /** What the execution consumed so far. */
  usage: Usage;
  /** When the execution started running (ISO 8601); null while it is queued. */
  started_at: string | null;
  /** When the execution reached its terminal status (ISO 8601); null until then. */
  finished_at: string | null;
  /** `finished_at` minus `started_at`; null until both are known. */
  duration_ms: number | null;
  /** The execution this one re-runs (`forager rerun`, `POST /executions/{id}/rerun`). */
  rerun_of?: string;
  /** The trigger's input (`GET /executions/{id}`; `run --json` leaves it out). */
  input?: Record<string, unknown>;
  /** Cluster only (SPEC 9): which start of the execution this is, 1 unless a lost worker made another node run it again. */
  attempt?: number;
  /** Cluster only: the earlier starts of this execution, each ended by the loss of the node running it. */
  attempts?: AttemptRecord[];
  /** Cluster only: the node that ran (or runs) the execution. */
  node?: string;
  /** Present when read back from storage or the API. */
  events?: unknown[];
}

/** One earlier start of an execution that a lost worker cut short (cluster, SPEC 9). */
export interface AttemptRecord {
  /** Which start this was: 1 for the first. */
  attempt: number;
  /** The node that ran it; null when it was lost before a node was recorded. */
  node: string | null;
  /** When that start began (ISO 8601); null when unknown. */
  started_at: string | null;
  /** How it ended: the node running it was lost. */
  ended: "worker_lost";
}

/** What storage keeps about one execution: the result plus what is needed to re-run it. */
export interface ExecutionRecord extends ExecutionResult {
  input: Record<string, unknown>;
  /** When the trigger was accepted (ISO 8601). */
  queued_at: string;
  /** The idempotency key the trigger carried: a later trigger with the same key returns this execution. */
  idempotency_key?: string;
}

/** How long an execution took from its start and end times; null when either is missing. */
export function elapsedMs(times: { started_at: string | null; finished_at: string | null }): number | null {
  if (!times.started_at || !times.finished_at) return null;
  const ms = Date.parse(times.finished_at) - Date.parse(times.started_at);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * What `GET /executions/{id}` answers (SPEC 7): the result JSON with the
 * optional fields that apply (`input`, `rerun_of`, `attempt`, `attempts`,
 * `node`). The same shape whether the execution was read from the job that
 * runs it, the cache of recent results or storage, on any cluster node.
 */
export function resultView(found: ExecutionResult): ExecutionResult {
  const { input, attempt, attempts, node } = found;
  return {
    ...toResult(found),
    ...(input === undefined ? {} : { input }),
    ...(attempt === undefined ? {} : { attempt }),
    ...(attempts === undefined ? {} : { attempts }),
    ...(node === undefined ? {} : { node }),
  };
}

/**
 * The result JSON of a stored record: what only storage keeps (input,
 * queued_at, the idempotency key, events) is left out, and a record written
 * by an older version gets the fields it lacks.
 */
export function toResult(record: ExecutionResult): ExecutionResult {
  return {
    schema_version: 1,
    execution_id: record.execution_id,
    session_id: record.session_id,
    agent: record.agent,
    entry_point: record.entry_point,
    status: record.status,
    success: record.status === "completed",
    output: record.output ?? {},
    error: record.error ?? null,
    path: record.path ?? [],
    steps_executed: record.steps_executed ?? 0,
    usage: record.usage,
    started_at: record.started_at,
    finished_at: record.finished_at,
    duration_ms: record.duration_ms ?? elapsedMs(record),
    ...(record.rerun_of === undefined ? {} : { rerun_of: record.rerun_of }),
  };
}

/** SPEC section 1: exit codes of `run` and `trigger --wait`. */
export function exitCodeForStatus(status: ExecutionStatus, cancelReason?: string): number {
  switch (status) {
    case "completed":
      return 0;
    case "budget_exceeded":
      return 3;
    case "timed_out":
      return 124;
    case "cancelled":
      if (cancelReason === "SIGTERM") return 143;
      if (cancelReason === "SIGINT") return 130;
      if (cancelReason === "SIGHUP") return 129;
      return 1;
    default:
      return 1;
  }
}
