/**
 * The execution queue: what the runtime needs from whatever admits, holds,
 * starts and cancels executions. The runtime talks to it only through this
 * interface; the in-process implementation is the Dispatcher
 * (dispatcher.ts), whose queues are the streams' FIFOs and whose live jobs
 * are a Map. What "live" means is per implementation: the jobs this queue
 * holds; a queue shared by several processes (cluster/bull-queue.ts)
 * answers only for its own share, and the runtime falls back to the session
 * store for the rest. Where a shared queue needs time to answer (start,
 * shutdown, waiting for an execution another process runs), the methods
 * may return a promise; the in-process Dispatcher answers at once.
 */
import type { EventInit, ForagerEvent } from "../events/types.js";
import type { Logger } from "../logging/index.js";
import type { ExecutionResult } from "../result.js";
import type { Clock } from "../util/clock.js";
import type { AdmissionCounts } from "./admission.js";
import type { Job } from "./job.js";
import type { EntryPointStream } from "./stream.js";
import type { TriggerOutcome } from "./types.js";

/** Runs an admitted job (the runtime: ExecutionRunner.run); must resolve, never reject, once the execution has really stopped. */
export type JobRunner = (job: Job, stream: EntryPointStream, signal: AbortSignal) => Promise<ExecutionResult>;

/** What a queue needs from the runtime that owns it. */
export interface QueueHost {
  readonly clock: Clock;
  readonly logger: Logger;
  publish(init: EventInit): ForagerEvent;
  /** False once the runtime is stopping: nothing new starts. */
  readonly accepting: boolean;
}

export interface AdmitOptions {
  idempotencyKey?: string;
  /** The trigger's W3C traceparent, kept with the job while it waits in a queue. */
  traceparent?: string;
  /** The execution this one re-runs. */
  rerunOf?: string;
  /** Loop protection of an event-triggered execution, kept in the job data (Job.chain). */
  chain?: readonly string[];
  /** Called synchronously once the execution exists, before it can publish anything. */
  onCreated?: (job: Job) => void;
}

export interface ExecutionQueue {
  /** Begins running admitted work with `runner`; nothing runs before. A shared queue resolves once its workers are up. */
  start(runner: JobRunner): void | Promise<void>;
  /**
   * Applies the stream's overlap policy to a new execution. Resolves once
   * the admitted execution's record is durable; throws a storage_error
   * (and runs nothing) when it cannot be recorded; a queue on Redis throws
   * RedisUnavailableError (redis_unavailable) when Redis cannot be reached.
   */
  admit(stream: EntryPointStream, input: Record<string, unknown>, options?: AdmitOptions): Promise<TriggerOutcome>;
  /** Cancels a live execution; resolves with its result once it has stopped. Undefined when not live here. */
  cancel(executionId: string, reason: string): Promise<ExecutionResult | undefined>;
  /** The stream's load, as the overlap policy sees it. */
  counts(stream: EntryPointStream): AdmissionCounts;
  /** Executions running and queued across every stream. */
  totals(): { running: number; queued: number };
  /** A live (queued or running) job by id. */
  live(executionId: string): Job | undefined;
  /** Resolves with a live job's result once it finishes; undefined when not live here. */
  settled(executionId: string): Promise<ExecutionResult> | undefined;
  /**
   * A shared queue only: resolves with the final result of an execution
   * that is not live here but whose record says it is not finished, once
   * whichever process runs it has saved its final record; undefined after
   * `timeoutMs` or once `signal` aborts (it stops watching then).
   */
  settledElsewhere?(executionId: string, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<ExecutionResult | undefined>;
  /** A recently finished result still held in memory (`cache_ttl`, `execution_result_max`). */
  recent(executionId: string): ExecutionResult | undefined;

  /** Puts a stream in the queue's keeping (its key stays known while its jobs drain). */
  addStream(stream: EntryPointStream): void;
  streamByKey(key: string): EntryPointStream | undefined;
  /** Starts what a stream's new definition now has room for (a reload raised max_concurrent). */
  refill(stream: EntryPointStream): void;
  /** Live jobs accepted with this agent definition object. */
  jobsOf(agent: object): Job[];

  /** An event of the agent's execution was seen: it is active. */
  touch(agent: string): void;
  /** Seconds since the agent's running executions last did something; null when none runs. */
  idleSeconds(agent: string): number | null;
  /** A shared queue only: the same over every live process's executions (a timer's idle check; one read of the shared store). */
  clusterIdleSeconds?(agent: string): Promise<number | null>;

  /**
   * Shutdown: nothing new starts here. The in-process queue records every
   * job that has not started as cancelled with `reason`; a shared queue
   * leaves them queued for the other processes (SPEC 9).
   */
  cancelAllQueued(reason: string): void | Promise<void>;
  runningJobs(): Job[];
  /** Resolves once the records of cancelled, never-run jobs are written. */
  flushWrites(): Promise<void>;
}
