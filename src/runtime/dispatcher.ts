/**
 * The in-process ExecutionQueue (execution-queue.ts). Moves executions
 * through their life: admission by the entry point's overlap policy, the
 * per-agent mutex (synchronized isolation), the global slot limiter,
 * running, cancelling and finishing. Everything here is bookkeeping in
 * memory plus the records a queued or never-run execution needs on disk;
 * running a graph is the runner's job (`start`).
 *
 * The cap is the backend's SlotLimiter and the agent mutexes its
 * MutexSource (backend.ts); the overlap policy is decideAdmission. The
 * queues (each stream's Fifo and running set) and the live jobs are this
 * process's memory: a queue shared across processes is another
 * ExecutionQueue, not a change here.
 */
import { errorMessage, ForagerError, StateError } from "../errors.js";
import { terminalEvent } from "../events/terminal.js";
import type { Logger } from "../logging/index.js";
import type { ExecutionRecord, ExecutionResult } from "../result.js";
import type { SessionStore } from "../storage/types.js";
import { newJob, queuedEvent, queuedRecord, runnerFailure, settle, unrunRecord, whenDone, type Job } from "./job.js";
import type { AdmissionCounts } from "./admission.js";
import { AgentActivity } from "./agent-activity.js";
import type { AdmitOptions, ExecutionQueue, JobRunner, QueueHost } from "./execution-queue.js";
import type { MutexSource, SlotLimiter } from "./limiter.js";
import { ResultsCache } from "./results-cache.js";
import type { EntryPointStream } from "./stream.js";
import type { TriggerOutcome } from "./types.js";

export type { AdmitOptions } from "./execution-queue.js";

/** What the in-process queue takes from the backend. */
export interface DispatcherParts {
  readonly store: SessionStore;
  readonly limiter: SlotLimiter;
  readonly mutexes: MutexSource;
}

export class Dispatcher implements ExecutionQueue {
  /** Jobs not finished yet, by execution id. */
  private readonly jobs = new Map<string, Job>();
  private readonly results: ResultsCache;
  private readonly store: SessionStore;
  private readonly limiter: SlotLimiter;
  private readonly mutexes: MutexSource;
  private runner?: JobRunner;
  private readonly streamsByKey = new Map<string, EntryPointStream>();
  private readonly activity: AgentActivity;
  /** Writes of records for executions the executor never ran; stop() waits for them. */
  private readonly writes = new Set<Promise<void>>();
  private queuedTotal = 0;
  private runningTotal = 0;

  constructor(
    private readonly host: QueueHost,
    parts: DispatcherParts,
    results: { max: number; ttlMs: number },
  ) {
    this.store = parts.store;
    this.limiter = parts.limiter;
    this.mutexes = parts.mutexes;
    this.results = new ResultsCache(results.max, results.ttlMs, () => host.clock.now());
    this.activity = new AgentActivity(host.clock);
  }

  start(runner: JobRunner): void {
    this.runner = runner;
  }

  counts(stream: EntryPointStream): AdmissionCounts {
    return stream.admissionCounts();
  }

  totals(): { running: number; queued: number } {
    return { running: this.runningTotal, queued: this.queuedTotal };
  }

  live(executionId: string): Job | undefined {
    return this.jobs.get(executionId);
  }

  settled(executionId: string): Promise<ExecutionResult> | undefined {
    const job = this.jobs.get(executionId);
    return job && whenDone(job);
  }

  recent(executionId: string): ExecutionResult | undefined {
    return this.results.get(executionId);
  }

  addStream(stream: EntryPointStream): void {
    this.streamsByKey.set(stream.key, stream);
  }

  streamOf(job: Job): EntryPointStream {
    return this.streamsByKey.get(`${job.owner.agentName}/${job.owner.entryPointId}`)!;
  }

  /**
   * The stream with this key, also one a reload removed whose executions
   * still drain: a stream re-added under that key must be this same object,
   * or the draining jobs would be counted against a stranger.
   */
  streamByKey(key: string): EntryPointStream | undefined {
    return this.streamsByKey.get(key);
  }

  /** Unfinished jobs accepted with this agent definition. */
  jobsOf(agent: object): Job[] {
    return [...this.jobs.values()].filter((job) => job.agent === agent);
  }

  /** Starts what a stream's new definition now has room for (a reload raised max_concurrent). */
  refill(stream: EntryPointStream): void {
    this.pump(stream);
  }

  /** An event of the agent's execution was seen: it is active. */
  touch(agent: string): void {
    this.activity.touch(agent);
  }

  /** Seconds since the agent's running executions last did something; null when none runs. */
  idleSeconds(agent: string): number | null {
    return this.activity.idleSeconds(agent);
  }

  /**
   * Applies the stream's overlap policy to a new execution. Resolves once a
   * queued execution's record is on disk.
   */
  async admit(stream: EntryPointStream, input: Record<string, unknown>, options: AdmitOptions = {}): Promise<TriggerOutcome> {
    if (!this.runner) throw new StateError("the execution queue takes no work before start(runner)");
    const decision = stream.decide();
    if (decision.kind === "skip") return { status: "skipped", reason: decision.reason };
    if (decision.kind === "reject") {
      return { status: "rejected", reason: decision.reason, retry_after_seconds: decision.retryAfterSeconds };
    }
    const now = this.host.clock.now();
    const job = newJob(stream, input, options, now);
    this.jobs.set(job.id, job);
    options.onCreated?.(job);
    this.queuedTotal++;
    stream.countQueued(1);
    if (decision.kind === "start") {
      stream.active.add(job);
      this.acquire(job, stream);
    } else if (decision.kind === "queue") {
      stream.queue.push(job);
    } else {
      // cancel_previous: the new execution continues the victim's session once the victim has stopped.
      const victim = decision.victim;
      job.sessionId = victim.sessionId;
      const supersededSuccessor = stream.successor === victim;
      stream.successor = job;
      if (supersededSuccessor) this.cancelQueued(victim, "cancel_previous");
      else void this.cancelJob(victim, "cancel_previous");
    }
    // Every admitted job is on disk before admit resolves, also one that
    // started at once: a trigger or webhook acknowledged and then lost to a
    // crash must still be found (as interrupted, with its input).
    if (job.phase === "queued" || job.phase === "running") {
      job.recordedRunning = job.phase === "running";
      let failure: unknown;
      job.persisted = this.persistAdmitted(job).catch((err: unknown) => {
        failure = err;
      });
      await job.persisted;
      if (failure !== undefined) {
        // Not on disk, so not accepted: it must not run unrecorded either.
        void this.cancelJob(job, "storage_error");
        throw new ForagerError("storage_error", `could not record the execution on disk: ${errorMessage(failure)}`, { cause: failure });
      }
    }
    return { status: job.phase === "queued" ? "queued" : job.phase === "running" ? "running" : job.result!.status, execution_id: job.id, session_id: job.sessionId };
  }

  cancel(executionId: string, reason: string): Promise<ExecutionResult | undefined> {
    const job = this.jobs.get(executionId);
    return job ? this.cancelJob(job, reason) : Promise.resolve(undefined);
  }

  /** Cancels a queued or running job; resolves with its final result once it has stopped. */
  private cancelJob(job: Job, reason: string): Promise<ExecutionResult> {
    if (job.phase === "finished") return Promise.resolve(job.result!);
    job.cancelReason ??= reason;
    if (job.phase === "running") {
      job.controller?.abort(reason);
      return whenDone(job);
    }
    return Promise.resolve(this.cancelQueued(job, reason));
  }

  /** Cancels every job that has not started yet (shutdown). */
  cancelAllQueued(reason: string): void {
    for (const job of [...this.jobs.values()]) if (job.phase === "queued") this.cancelQueued(job, reason);
  }

  runningJobs(): Job[] {
    return [...this.jobs.values()].filter((job) => job.phase === "running");
  }

  async flushWrites(): Promise<void> {
    while (this.writes.size > 0) await Promise.all([...this.writes]);
  }

  private cancelQueued(job: Job, reason: string): ExecutionRecord {
    const stream = this.streamOf(job);
    job.cancelReason ??= reason;
    job.withdraw?.();
    stream.queue.remove(job);
    const record = unrunRecord(
      job,
      "cancelled",
      { code: "cancelled", message: `cancelled before it started (${reason})`, reason },
      this.host.clock.now(),
    );
    this.finish(job, stream, record, false);
    this.recordUnrun(job, record);
    return record;
  }

  /** Synchronized entry points take the agent's mutex first, then a global slot; both FIFO. */
  private acquire(job: Job, stream: EntryPointStream): void {
    const takeSlot = () => {
      let granted = false;
      const withdraw = this.limiter.request(job.id, () => {
        granted = true;
        job.withdraw = undefined;
        job.holdsSlot = true;
        void this.run(job, stream);
      });
      if (!granted) job.withdraw = withdraw;
    };
    if (job.entryPoint.isolation_level !== "synchronized") return takeSlot();
    let granted = false;
    const withdraw = this.mutexes.forAgent(stream.agentName).request(job.id, (fence) => {
      granted = true;
      job.withdraw = undefined;
      job.holdsMutex = true;
      job.mutexFence = fence;
      takeSlot();
    });
    if (!granted) job.withdraw = withdraw;
  }

  private async run(job: Job, stream: EntryPointStream): Promise<void> {
    if (!this.host.accepting) {
      this.cancelQueued(job, "shutdown");
      return;
    }
    const now = this.host.clock.now();
    job.phase = "running";
    job.startedAtMs = now;
    job.controller = new AbortController();
    this.queuedTotal--;
    this.runningTotal++;
    stream.markRunning();
    this.activity.started(stream.agentName);
    const signal = job.controller.signal;
    if (job.cancelReason) job.controller.abort(job.cancelReason);
    // A job that starts at once is called from inside admit, which records
    // it (job.persisted, job.recordedRunning) right after this call returns:
    // one microtask lets it, so the admitted record lands before the
    // executor's first write and the executor does not write "running" again.
    await Promise.resolve();
    if (job.persisted) await job.persisted;
    // admit refuses work before start, so a runner is set.
    const result = await this.runner!(job, stream, signal).catch((err: unknown) => this.runnerThrew(job, err));
    this.activity.ended(stream.agentName);
    this.runningTotal--;
    this.finish(job, stream, result, true);
    logExecutionEnd(this.host.logger, result);
  }

  private finish(job: Job, stream: EntryPointStream, result: ExecutionResult, wasRunning: boolean): void {
    this.jobs.delete(job.id);
    stream.active.delete(job);
    if (stream.successor === job) stream.successor = undefined;
    if (!wasRunning) this.queuedTotal--;
    stream.markFinished(result.status, wasRunning, result.duration_ms);
    const { holdsSlot, holdsMutex } = job;
    job.holdsSlot = job.holdsMutex = false;
    this.results.add({ ...result, input: job.input });
    settle(job, result);
    // The holder id is the execution id: a release for anyone else frees nothing.
    if (holdsSlot && !this.limiter.release(job.id)) this.host.logger.error({ execution_id: job.id }, "released a global slot it did not hold");
    if (holdsMutex && !this.mutexes.forAgent(stream.agentName).release(job.id)) this.host.logger.error({ execution_id: job.id }, "released an agent mutex it did not hold");
    this.pump(stream);
  }

  /** Fills the stream's free slots: first the cancel_previous successor, then the queue in order. */
  private pump(stream: EntryPointStream): void {
    if (!this.host.accepting) return;
    if (stream.successor && stream.active.size < stream.maxConcurrent) {
      const next = stream.successor;
      stream.successor = undefined;
      stream.active.add(next);
      this.acquire(next, stream);
    }
    while (stream.active.size < stream.maxConcurrent && stream.queue.length > 0) {
      const next = stream.queue.shift()!;
      stream.active.add(next);
      this.acquire(next, stream);
    }
  }

  private persistAdmitted(job: Job): Promise<void> {
    const store = this.store;
    const writes: Promise<unknown>[] = [store.save(queuedRecord(job))];
    if (job.phase === "queued") {
      const published = this.host.publish(queuedEvent(job));
      writes.push(store.appendEvents(job.owner.agentName, job.sessionId, [published]));
    }
    return Promise.all(writes).then(
      () => undefined,
      (err: unknown) => {
        this.host.logger.error({ err, execution_id: job.id }, "could not record an admitted execution");
        throw err;
      },
    );
  }

  /**
   * The runner records every failure itself; one that throws broke that
   * contract. Its job still ends, failed and recorded, so its slot, its
   * mutex and whoever waits for it are released.
   */
  private runnerThrew(job: Job, err: unknown): ExecutionRecord {
    const record = runnerFailure(job, err, this.host);
    this.recordUnrun(job, record);
    return record;
  }

  /** Records an execution that ends without running (cancelled while queued, or its runner threw), after its queued record. */
  private recordUnrun(job: Job, record: ExecutionRecord): void {
    const published = this.host.publish(terminalEvent(record));
    const write = (async () => {
      if (job.persisted) await job.persisted;
      await this.store.save(record);
      await this.store.appendEvents(record.agent, record.session_id, [published]);
    })().catch((err: unknown) => {
      this.host.logger.error({ err, execution_id: job.id }, `could not record a ${record.status} execution`);
    });
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
  }
}

/** One line per execution that ran: what operators read to know what the daemon did (SPEC 2). */
export function logExecutionEnd(logger: Logger, result: ExecutionResult): void {
  const fields = {
    agent: result.agent,
    entry_point: result.entry_point,
    execution_id: result.execution_id,
    session_id: result.session_id,
    status: result.status,
    duration_ms: result.duration_ms,
    ...(result.error ? { error: result.error.message } : {}),
  };
  const took = result.duration_ms === null ? "" : ` in ${formatSeconds(result.duration_ms)}`;
  const where = `${result.agent}/${result.entry_point}`;
  if (result.status === "completed") logger.info(fields, `execution ${where} completed${took}`);
  else if (result.status === "cancelled") logger.info(fields, `execution ${where} cancelled${took}${result.error?.reason ? ` (${result.error.reason})` : ""}`);
  else logger.warn(fields, `execution ${where} ${result.status.replace(/_/g, " ")}${took}${result.error ? `: ${result.error.message}` : ""}`);
}

/** As the run summary writes durations. */
function formatSeconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(2)}s`;
}
