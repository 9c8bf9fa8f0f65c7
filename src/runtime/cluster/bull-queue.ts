/**
 * The cluster's ExecutionQueue (DISTRIBUTED §4.1, §4.5, §4.7, §4.8,
 * §4.10): one BullMQ Queue and Worker per entry point (queue
 * `<agent>.<entry point>`, prefix `<redis_prefix>:bull`), with
 * `setGlobalConcurrency(max_concurrent)` so the cap holds across nodes.
 * Admission is cluster-admission.ts. Whatever node's worker takes a job
 * rebuilds the Job from the job data, takes the agent mutex (synchronized)
 * and a global slot (redis-semaphore.ts), and runs it through the runtime's
 * JobRunner; a BullMQ retry after a lost worker runs it again with
 * `attempt = attemptsStarted`.
 *
 * "Live" here means what this node holds: jobs its workers took. For
 * anything else `cancel` goes through Redis (remove a waiting job, or the
 * cancel channel to the node running it) and waits use the `done` channel
 * with a one-second poll of the record.
 */
import type { Job as BullJob, Queue } from "bullmq";
import { StateError } from "../../errors.js";
import { isTerminal, type ExecutionResult } from "../../result.js";
import type { RedisLink } from "../../storage/redis/connection.js";
import type { SessionStore } from "../../storage/types.js";
import type { AdmissionCounts } from "../admission.js";
import { logExecutionEnd } from "../dispatcher.js";
import type { AdmitOptions, ExecutionQueue, JobRunner, QueueHost } from "../execution-queue.js";
import { runnerFailure, settle, unrunRecord, whenDone, type Job } from "../job.js";
import { ResultsCache } from "../results-cache.js";
import type { EntryPointStream } from "../stream.js";
import type { TriggerOutcome } from "../types.js";
import { admitToCluster, noteDuration, removeWaiting, type AdmissionContext } from "./cluster-admission.js";
import { checkIn, holderOf, sweepCancelKeys } from "./cancel-keys.js";
import type { ClusterChannels } from "./channels.js";
import { jobFromData, queueName, type ClusterJobData } from "./job-data.js";
import { FinalRecords } from "./final-records.js";
import { ClusterActivity } from "./cluster-activity.js";
import { BullQueues } from "./bull-queues.js";
import { acquireSlot, type RedisMutexes, type RedisSemaphore } from "./redis-semaphore.js";

export interface BullQueueParts {
  link: RedisLink;
  store: SessionStore;
  limiter: RedisSemaphore;
  mutexes: RedisMutexes;
  channels: ClusterChannels;
  /** This node's id (`<host>:<pid>:<4 hex>`): records say which node ran them. */
  nodeId: string;
  workerLoss: { lock_seconds: number; check_seconds: number; retries: number };
  /** No worker of this node takes more jobs at once (runtime.max_concurrent_executions). */
  nodeCap: number;
  results: { max: number; ttlMs: number };
}

/** The abort reason that hands a job that has not started back to the queue (this node is stopping). */
const HAND_BACK = Symbol("hand back");

export class BullExecutionQueue implements ExecutionQueue {
  private runner?: JobRunner;
  private readonly bull: BullQueues;
  private readonly streamsByKey = new Map<string, EntryPointStream>();
  /** Jobs this node's workers hold, by execution id. */
  private readonly jobs = new Map<string, Job>();
  private readonly results: ResultsCache;
  private readonly activity: ClusterActivity;
  private readonly writes = new Set<Promise<unknown>>();
  /** Final records of executions the executor did not finish, and waits for other nodes' executions. */
  private readonly finals: FinalRecords;
  private readonly unsubscribe: (() => void)[] = [];
  private cancelSweep?: ReturnType<typeof setInterval>;
  private stopping = false;
  private closed = false;

  constructor(
    private readonly host: QueueHost,
    private readonly parts: BullQueueParts,
  ) {
    this.results = new ResultsCache(parts.results.max, parts.results.ttlMs, () => host.clock.now());
    this.activity = new ClusterActivity({ link: parts.link, nodeId: parts.nodeId, clock: host.clock, logger: host.logger });
    this.bull = new BullQueues({
      link: parts.link,
      logger: host.logger,
      workerLoss: parts.workerLoss,
      nodeCap: parts.nodeCap,
      closed: () => this.closed,
      stopping: () => this.stopping,
      handlers: {
        process: (job, token, signal) => this.process(job, token, signal),
        stalledOut: (job) => this.track(this.finals.recordLost(job)),
        lockLost: (ids) => {
          for (const id of ids) {
            const job = this.jobs.get(id);
            if (job) this.loseLock(job);
          }
        },
      },
    });
    this.finals = new FinalRecords({
      store: parts.store,
      host,
      channels: parts.channels,
      results: this.results,
      retries: parts.workerLoss.retries,
      track: (write) => this.track(write),
    });
  }

  /**
   * Resolves with the final record of an execution another node runs, once
   * it has finished (done message or a poll of the record); undefined after
   * `timeoutMs`, when `signal` aborts, or at close.
   */
  settledElsewhere(executionId: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ExecutionResult | undefined> {
    return this.finals.settledElsewhere(executionId, options);
  }

  private get jobOptions(): Record<string, unknown> {
    // Graph failures are final: BullMQ's own retry is off; only a lost worker runs a job again.
    return { attempts: 1, removeOnComplete: { age: 3600 }, removeOnFail: { age: 3600 } };
  }

  async start(runner: JobRunner): Promise<void> {
    this.runner = runner;
    await this.bull.load();
    const { channels, limiter, mutexes } = this.parts;
    this.unsubscribe.push(
      channels.onCancel((id, reason) => {
        const job = this.jobs.get(id);
        if (job) void this.cancelLocal(job, reason);
      }),
      channels.onDone((id) => this.finals.wake(id)),
      channels.onSlotsFree((key) => {
        if (key === limiter.base) limiter.wake();
        for (const mutex of mutexes.all()) if (mutex.base === key) mutex.wake();
      }),
    );
    const lost = (holderId: string) => {
      const job = this.jobs.get(holderId.slice(0, holderId.lastIndexOf("#")));
      if (job && holderOf(job) === holderId) this.loseLock(job);
    };
    limiter.onLost = lost;
    mutexes.onLost = lost;
    await channels.open();
    await Promise.all([...this.streamsByKey.values()].map((stream) => this.bull.worker(stream)));
    // Backs up cancel messages lost in a reconnect: each running job's cancel key, at half a lease.
    const sweep = () => sweepCancelKeys(this.parts.link, this.jobs.values(), (job, reason) => void this.cancelLocal(job, reason));
    this.cancelSweep = setInterval(() => void sweep(), Math.max(250, (this.parts.workerLoss.lock_seconds * 1000) / 2));
    this.cancelSweep.unref?.();
  }

  // ------------------------------------------------------------ admission

  async admit(stream: EntryPointStream, input: Record<string, unknown>, options: AdmitOptions = {}): Promise<TriggerOutcome> {
    if (!this.runner || this.closed) throw new StateError("the execution queue takes no work before start(runner)");
    return admitToCluster(this.admissionContext(), stream, input, options);
  }

  private admissionContext(): AdmissionContext {
    return {
      link: this.parts.link,
      store: this.parts.store,
      host: this.host,
      queueFor: (s) => this.queue(s),
      cancelRunning: (id, reason) => this.parts.channels.publishCancel(id, reason),
      recordUnrun: (record) => this.finals.recordUnrun(record),
      jobOptions: this.jobOptions,
    };
  }

  private queue(stream: EntryPointStream): Promise<Queue> {
    return this.bull.queue(stream);
  }

  // ------------------------------------------------------------ workers

  /** Runs one job this node's worker took: rebuild, take the mutex and a slot, run, record, tell the cluster. */
  private async process(bullJob: BullJob, token: string | undefined, signal: AbortSignal | undefined): Promise<unknown> {
    const data = bullJob.data as ClusterJobData;
    const stream = this.streamsByKey.get(`${data.agent}/${data.entryPoint}`);
    if (!stream) throw new Error(`entry point ${data.agent}/${data.entryPoint} is not defined on node ${this.parts.nodeId}`);
    if (this.stopping || !this.host.accepting) return this.handBack(bullJob, token);
    const job = jobFromData(bullJob.id!, data, stream);
    job.attempt = Math.max(1, (bullJob.attemptsStarted ?? 1) - (data.returned ?? 0));
    const controller = new AbortController();
    job.controller = controller;
    signal?.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
    this.jobs.set(job.id, job);
    stream.active.add(job);
    stream.countQueued(1);
    await checkIn(this.parts.link, job, stream, this.host.logger);
    try {
      if (job.entryPoint.isolation_level === "synchronized") {
        job.mutexFence = await acquireSlot(this.parts.mutexes.forAgent(data.agent), holderOf(job), controller.signal);
        job.holdsMutex = true;
      }
      await acquireSlot(this.parts.limiter, holderOf(job), controller.signal);
      job.holdsSlot = true;
    } catch (reason) {
      if (reason === HAND_BACK) {
        this.finish(job, stream, undefined, false);
        return this.handBack(bullJob, token);
      }
      const why = typeof reason === "string" ? reason : String(reason);
      const record = unrunRecord(job, "cancelled", { code: "cancelled", message: `cancelled before it started (${why})`, reason: why }, this.host.clock.now());
      // Lost its lock while waiting: another node may hold the job now, and its record is that node's to write.
      if (!job.lockLost) await this.finals.recordUnrun(record).catch(() => undefined);
      this.finish(job, stream, record, false);
      return { status: record.status };
    }
    return this.run(job, stream, controller);
  }

  private async run(job: Job, stream: EntryPointStream, controller: AbortController): Promise<unknown> {
    job.recordExtra = await this.finals.attemptFields(job.id, job.attempt ?? 1, this.parts.nodeId);
    const now = this.host.clock.now();
    job.phase = "running";
    job.startedAtMs = now;
    stream.markRunning();
    this.activity.started(stream.agentName);
    // The executor's result lacks what the node added to its records (attempt, node).
    const ran = await this.runner!(job, stream, controller.signal).catch((err: unknown) => this.runnerThrew(job, err));
    const result: ExecutionResult = { ...ran, ...job.recordExtra };
    this.activity.ended(stream.agentName);
    this.finish(job, stream, result, true);
    logExecutionEnd(this.host.logger, result);
    // An attempt that lost its lock wrote no final record: the attempt that follows tells the cluster.
    if (!job.lockLost) this.track(this.parts.channels.publishDone(job.id));
    if (result.duration_ms !== null) this.track(noteDuration(this.parts.link, queueName(stream.agentName, stream.id), result.duration_ms));
    return { status: result.status };
  }

  /**
   * The runner records every failure itself; one that throws broke that
   * contract. Its execution still ends, failed and recorded, so its slot,
   * its mutex and whoever waits for it, on any node, are released.
   */
  private async runnerThrew(job: Job, err: unknown): Promise<ExecutionResult> {
    const record = { ...runnerFailure(job, err, this.host), ...job.recordExtra };
    // Lost its lock: another node may hold the job now, and its record is that node's to write.
    if (!job.lockLost) await this.finals.recordUnrun(record).catch((e: unknown) => this.host.logger.error({ err: e, execution_id: job.id }, "could not record a failed execution"));
    return record;
  }

  /** Puts a job that has not started back in its queue for another node (this one is stopping). */
  private async handBack(bullJob: BullJob, token: string | undefined): Promise<never> {
    const data = bullJob.data as ClusterJobData;
    await bullJob.updateData({ ...data, returned: (data.returned ?? 0) + 1 });
    await bullJob.moveToWait(token);
    throw this.bull.waitingError();
  }

  private finish(job: Job, stream: EntryPointStream, result: ExecutionResult | undefined, wasRunning: boolean): void {
    // A later attempt of the same execution may already be held here (this one lost its lock).
    if (this.jobs.get(job.id) === job) this.jobs.delete(job.id);
    stream.active.delete(job);
    if (result) stream.markFinished(result.status, wasRunning, result.duration_ms);
    else stream.countQueued(-1);
    if (job.holdsSlot) this.parts.limiter.release(holderOf(job));
    if (job.holdsMutex) this.parts.mutexes.forAgent(job.owner.agentName).release(holderOf(job));
    job.holdsSlot = job.holdsMutex = false;
    if (result) {
      if (!job.lockLost) this.results.add({ ...result, input: job.input });
      settle(job, result);
    }
  }

  private track(write: Promise<unknown>): void {
    const quiet = write.catch((err: unknown) => this.host.logger.error({ err }, "a cluster write failed"));
    this.writes.add(quiet);
    void quiet.finally(() => this.writes.delete(quiet));
  }

  // ------------------------------------------------------------ cancel and waits

  async cancel(executionId: string, reason: string): Promise<ExecutionResult | undefined> {
    const job = this.jobs.get(executionId);
    if (job) return this.cancelLocal(job, reason);
    const record = await this.parts.store.get(executionId);
    if (!record) return undefined;
    if (isTerminal(record.status)) return record;
    const stream = this.streamsByKey.get(`${record.agent}/${record.entry_point}`);
    if (record.status === "queued" && stream) {
      const removed = await removeWaiting(this.admissionContext(), await this.queue(stream), record, reason);
      if (removed) return removed;
    }
    await this.parts.channels.publishCancel(executionId, reason);
    return (await this.settledElsewhere(executionId)) ?? (await this.parts.store.get(executionId));
  }

  /**
   * This node no longer holds the job (BullMQ lock or a lease not renewed
   * in time: a stall, a partition): abort it (reason lock_lost) before
   * another node takes it over. Its records stay the next attempt's.
   */
  private loseLock(job: Job): void {
    if (job.phase === "finished") return;
    this.host.logger.warn({ execution_id: job.id }, "lost the lock of a running execution: aborting it here (another node may run it)");
    job.lockLost = true;
    void this.cancelLocal(job, "lock_lost");
  }

  /** Aborts a job this node holds, whether it waits for a slot or runs; resolves once it has stopped. */
  private cancelLocal(job: Job, reason: string): Promise<ExecutionResult> {
    if (job.phase === "finished") return Promise.resolve(job.result!);
    job.cancelReason ??= reason;
    job.controller?.abort(reason);
    return whenDone(job);
  }

  // ------------------------------------------------------------ this node's view

  counts(stream: EntryPointStream): AdmissionCounts {
    return stream.admissionCounts();
  }

  totals(): { running: number; queued: number } {
    let running = 0;
    let queued = 0;
    for (const job of this.jobs.values()) job.phase === "running" ? running++ : queued++;
    return { running, queued };
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
    if (this.runner && !this.closed) {
      void this.bull.worker(stream).catch((err: unknown) => this.host.logger.error({ err, stream: stream.key }, "could not start the entry point's worker"));
    }
  }

  streamByKey(key: string): EntryPointStream | undefined {
    return this.streamsByKey.get(key);
  }

  /** A reload changed max_concurrent: the queue's cluster-wide cap and this node's worker follow. */
  refill(stream: EntryPointStream): void {
    if (!this.runner) return;
    void this.bull.applyMaxConcurrent(stream).catch((err: unknown) => this.host.logger.error({ err, stream: stream.key }, "could not apply the new max_concurrent"));
  }

  jobsOf(agent: object): Job[] {
    return [...this.jobs.values()].filter((job) => job.agent === agent);
  }

  touch(agent: string): void {
    this.activity.touch(agent);
  }

  idleSeconds(agent: string): number | null {
    return this.activity.idleSeconds(agent);
  }

  clusterIdleSeconds(agent: string): Promise<number | null> {
    return this.activity.clusterIdleSeconds(agent);
  }

  // ------------------------------------------------------------ shutdown

  /**
   * This node stops taking jobs; jobs it took that have not started (they
   * wait for a slot or the mutex) go back to their queues. Queued work stays
   * in Redis for the other nodes (SPEC 9), so nothing is recorded cancelled.
   */
  async cancelAllQueued(_reason: string): Promise<void> {
    this.stopping = true;
    await this.bull.pauseWorkers();
    for (const job of this.jobs.values()) if (job.phase === "queued") job.controller?.abort(HAND_BACK);
  }

  runningJobs(): Job[] {
    return [...this.jobs.values()].filter((job) => job.phase === "running");
  }

  async flushWrites(): Promise<void> {
    while (this.writes.size > 0) await Promise.all([...this.writes]);
  }

  /** Closes the workers and queues (the backend closes the Redis link after). */
  async close(): Promise<void> {
    this.stopping = true;
    this.closed = true;
    if (this.cancelSweep) clearInterval(this.cancelSweep);
    for (const off of this.unsubscribe.splice(0)) off();
    this.finals.close();
    await this.bull.close();
    await this.flushWrites();
    await this.activity.close();
  }
}
