/**
 * Storage behind narrow interfaces, chosen in create.ts: files, memory, or
 * Redis (storage/redis/, runtime.backend: redis), so a backend can be
 * replaced without touching the executor or the runtime. In the file stores, a record that is
 * replaced (an execution record, an agent's state) is written atomically
 * (a temp file, then a rename); the logs (session events, remembered keys,
 * the ingest log) are appended to, and an append cut short by a crash or a
 * full disk leaves a partial last line, which the next writer sets aside
 * (torn-tail.ts) and readers skip. Either way a write is acknowledged only
 * once it is whole in the OS: it survives the process (a crash, kill -9),
 * not a power loss, since the stores do not fsync.
 */
import type { ExecutionRecord, ExecutionStatus } from "../result.js";
import type { ForagerEvent } from "../events/types.js";
import type { ProcessGroupRecord } from "../util/process-groups.js";

/** One execution in a listing (`listExecutions`, `GET /executions`): the result JSON's identifying fields and times. */
export interface ExecutionSummary {
  /** The execution's id. */
  execution_id: string;
  /** The session it ran in. */
  session_id: string;
  /** The agent's name. */
  agent: string;
  /** The entry point's id. */
  entry_point: string;
  /** Its status when the listing was read. */
  status: ExecutionStatus;
  /** When it started running (ISO 8601); null while queued. */
  started_at: string | null;
  /** When it finished (ISO 8601); null until then. */
  finished_at: string | null;
  /** When the trigger was accepted (ISO 8601). */
  queued_at: string;
}

/** Which executions a listing returns; every field narrows it, none means all. */
export interface ListQuery {
  /** Only this agent's executions. */
  agent?: string;
  /** Only executions with this status. */
  status?: ExecutionStatus;
  /** At most this many, the newest. */
  limit?: number;
}

/** Which finished sessions SessionStore.prune removes (`forager sessions prune`, `session_retention`). */
export interface PruneOptions {
  /** Only this agent's sessions; none: every agent's. */
  agent?: string;
  /** Remove sessions that finished more than this many seconds ago. */
  olderThanSeconds?: number;
  /** Keep at most this many sessions per agent (newest kept). */
  keep?: number;
  /** Only report what would be removed. */
  dryRun?: boolean;
}

/** What SessionStore.prune removed, or would remove with `dryRun`. */
export interface PruneReport {
  /** The sessions removed, as `agent/session_id`. */
  removed: string[];
  /** How many sessions were kept, unfinished ones included. */
  kept: number;
  /** True when nothing was removed, only reported. */
  dry_run: boolean;
}

/**
 * Where execution records and session event logs are kept (SPEC 4.4):
 * FileSessionStore, MemorySessionStore or Redis. Public as the type of
 * ExecuteOptions.store, what a custom `execute` writes its record and
 * events to; the implementations are forager's own and not exported, and
 * the members the runtime alone calls (process-group bookkeeping) are
 * internal.
 */
export interface SessionStore {
  /**
   * Prepares the folders; marks executions left `running` or `queued` by a
   * crash as `interrupted` (error code `interrupted`) and returns them. A
   * store shared by several processes (Redis) marks nothing: what looks
   * unfinished may be running on another node.
   */
  init(): Promise<ExecutionRecord[]>;
  /** Creates or replaces the record of one execution, atomically. */
  save(record: ExecutionRecord): Promise<void>;
  /** Appends events to the session's event log (one JSON object a line). */
  appendEvents(agent: string, sessionId: string, events: readonly ForagerEvent[]): Promise<void>;
  /** The stored record of an execution; undefined for an unknown id. */
  get(executionId: string): Promise<ExecutionRecord | undefined>;
  /** Events of an execution's session, optionally only that execution's. */
  readEvents(agent: string, sessionId: string, executionId?: string): Promise<ForagerEvent[]>;
  /** Newest first. */
  list(query?: ListQuery): Promise<ExecutionSummary[]>;
  /** Removes finished sessions by age or count (never a running one) and reports what went; `dryRun` only reports. */
  prune(options: PruneOptions): Promise<PruneReport>;
  /** Waits until every pending write is on disk. */
  flush(): Promise<void>;
  /**
   * @internal
   * Records a process group a tool of the session is running, so `init`
   * after a crash can stop what is left of it. Optional: a store without
   * it (memory) has no later start to reap at.
   */
  recordProcessGroup?(agent: string, sessionId: string, group: ProcessGroupRecord): Promise<void>;
  /** @internal Forgets a recorded group once its program has been reaped. */
  releaseProcessGroup?(agent: string, sessionId: string, pid: number): Promise<void>;
  /** Waits for pending writes and releases connections (a Redis link the store owns); optional. */
  close?(): Promise<void>;
}

/**
 * Options of StateStore.write. None is public: the one the runtime passes
 * (the agent mutex's fence) is internal. Named so the signature that takes
 * it is complete.
 */
export interface StateWriteOptions {
  /**
   * @internal
   * The fence of the agent-mutex grant the write is made under
   * (fenced-state.ts). A store shared between processes refuses the write
   * (`stale_fence`) when the mutex has since been granted with a newer
   * fence, in the same atomic step as the write; a store of one process
   * ignores it (FencedStateStore checks in memory).
   */
  fence?: number;
}

/**
 * The agent's shared key-value state, kept on disk across executions and
 * restarts. Public as the type of ExecuteOptions.state, what a custom
 * `execute` reads and writes `state.*` through; the implementations are
 * forager's own and not exported.
 */
export interface StateStore {
  /** The agent's whole state, a copy; `{}` when nothing was written yet. */
  read(agent: string): Promise<Record<string, unknown>>;
  /** Writes keys (last write wins per key; `undefined` removes one) and returns the new state. */
  write(agent: string, changes: Record<string, unknown>, options?: StateWriteOptions): Promise<Record<string, unknown>>;
  /** Releases connections (a Redis link the store owns); optional. */
  close?(): Promise<void>;
}

/**
 * Keys remembered for a time: webhook delivery ids, idempotency keys, timer
 * watermarks. Persisted, so they survive a restart. The conditional calls
 * are what claims need (claims.ts): a short pending claim is taken, then
 * made final or released only while it is still the caller's, which a
 * shared store (Redis) does in one atomic step too. Not exported from the
 * package: no public signature takes or gives one.
 */
export interface KeyStore {
  /**
   * Records `key` with `value` unless a live entry exists; returns the
   * existing value in that case (check-and-set is atomic within a process).
   * `transient`: a short claim that need not survive a restart (its holder
   * would not either); a store may keep it in memory only, as the file store
   * does, while a shared store writes it like any other.
   */
  putIfAbsent(
    namespace: string,
    key: string,
    value: string,
    ttlSeconds: number,
    options?: { transient?: boolean },
  ): Promise<{ existing?: string }>;
  /** The live value of `key`; undefined when absent or expired. */
  get(namespace: string, key: string): Promise<string | undefined>;
  /** Records `key` with `value`, replacing any; without `ttlSeconds` it never expires. */
  set(namespace: string, key: string, value: string, ttlSeconds?: number): Promise<void>;
  /** Replaces the value (and TTL) only while the live value is `expected`; says whether it did. */
  compareAndSet(namespace: string, key: string, expected: string, value: string, ttlSeconds?: number): Promise<boolean>;
  /** Forgets `key`; nothing happens when it is absent. */
  delete(namespace: string, key: string): Promise<void>;
  /** Deletes the key only while its live value is `expected`; says whether it did. */
  deleteIfValue(namespace: string, key: string, expected: string): Promise<boolean>;
  /** Releases open files; optional, the store may be used again after. */
  close?(): Promise<void>;
}
