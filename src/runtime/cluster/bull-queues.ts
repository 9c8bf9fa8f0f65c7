/**
 * The BullMQ objects of one node: a Queue per entry point (queue
 * `<agent>.<entry point>`, prefix `<redis_prefix>:bull`) with
 * `setGlobalConcurrency(max_concurrent)`, so the cap holds across nodes,
 * and a Worker per entry point on a blocking connection of its own, tuned
 * by `runtime.worker_loss` (lock, stall check, how many lost workers a job
 * survives). bullmq is imported on first use: the file backend never loads it.
 * What a worker does with a job is the execution queue's (bull-queue.ts).
 */
import type { Job as BullJob, Queue, Worker } from "bullmq";
import type { Logger } from "../../logging/index.js";
import type { RedisLink } from "../../storage/redis/connection.js";
import type { EntryPointStream } from "../stream.js";
import { queueName } from "./job-data.js";

type Bull = typeof import("bullmq");

/** BullMQ's reason for failing a job whose workers were lost more than maxStalledCount times (its stalled checker). */
const STALLED_OUT = "job stalled more than allowable limit";

export interface WorkerHandlers {
  /** Runs a job this node's worker took. */
  process(job: BullJob, token: string | undefined, signal: AbortSignal | undefined): Promise<unknown>;
  /** BullMQ failed the job because its workers were lost too often. */
  stalledOut(job: BullJob): void;
  /** These jobs' locks could not be renewed: this node no longer holds them. */
  lockLost(executionIds: string[]): void;
}

export interface BullQueuesOptions {
  link: RedisLink;
  logger: Logger;
  workerLoss: { lock_seconds: number; check_seconds: number; retries: number };
  /** No worker of this node takes more jobs at once (runtime.max_concurrent_executions). */
  nodeCap: number;
  handlers: WorkerHandlers;
  /** Once true, no new worker starts (close). */
  closed(): boolean;
  /** Once true, a new worker starts paused (this node is stopping). */
  stopping(): boolean;
}

export class BullQueues {
  private bull?: Bull;
  private readonly queues = new Map<string, Promise<Queue>>();
  private readonly workers = new Map<string, Promise<Worker | undefined>>();

  constructor(private readonly options: BullQueuesOptions) {}

  async load(): Promise<Bull> {
    return (this.bull ??= await import("bullmq"));
  }

  private get prefix(): string {
    return this.options.link.key("bull");
  }

  /** The error a processor throws after moving its job back to wait (BullMQ then leaves the job alone). */
  waitingError(): Error {
    return new this.bull!.WaitingError();
  }

  queue(stream: EntryPointStream): Promise<Queue> {
    const name = queueName(stream.agentName, stream.id);
    let queue = this.queues.get(name);
    if (!queue) {
      queue = (async () => {
        const bull = await this.load();
        const q = new bull.Queue(name, { connection: await this.options.link.commands(), prefix: this.prefix });
        q.on("error", (err) => this.options.logger.warn({ err, queue: name }, "BullMQ queue error"));
        return q;
      })();
      this.queues.set(name, queue);
      queue.catch(() => this.queues.delete(name));
    }
    return queue;
  }

  /** The entry point's worker, started on the first call. */
  worker(stream: EntryPointStream): Promise<Worker | undefined> {
    const name = queueName(stream.agentName, stream.id);
    let started = this.workers.get(name);
    if (!started) {
      started = this.startWorker(stream, name);
      this.workers.set(name, started);
    }
    return started;
  }

  private concurrency(stream: EntryPointStream): number {
    return Math.max(1, Math.min(stream.maxConcurrent, this.options.nodeCap));
  }

  private async startWorker(stream: EntryPointStream, name: string): Promise<Worker | undefined> {
    const bull = await this.load();
    const queue = await this.queue(stream);
    await queue.setGlobalConcurrency(stream.maxConcurrent);
    if (this.options.closed()) return undefined;
    const { link, logger, handlers } = this.options;
    const connection = await link.dedicated("blocking", `worker:${name}`);
    const { lock_seconds, check_seconds, retries } = this.options.workerLoss;
    const worker = new bull.Worker(name, (job: BullJob, token?: string, signal?: AbortSignal) => handlers.process(job, token, signal), {
      connection,
      prefix: this.prefix,
      concurrency: this.concurrency(stream),
      lockDuration: lock_seconds * 1000,
      stalledInterval: check_seconds * 1000,
      maxStalledCount: retries,
    });
    worker.on("error", (err) => logger.warn({ err, queue: name }, "BullMQ worker error"));
    worker.on("failed", (job, err) => {
      if (job && err?.message === STALLED_OUT) handlers.stalledOut(job);
    });
    worker.on("lockRenewalFailed", (ids: string[]) => handlers.lockLost(ids));
    if (this.options.stopping()) await worker.pause(true);
    return worker;
  }

  /** A reload changed max_concurrent: the queue's cluster-wide cap and this node's worker follow. */
  async applyMaxConcurrent(stream: EntryPointStream): Promise<void> {
    await (await this.queue(stream)).setGlobalConcurrency(stream.maxConcurrent);
    const worker = await this.workers.get(queueName(stream.agentName, stream.id));
    if (worker) worker.concurrency = this.concurrency(stream);
  }

  /** Every worker stops taking jobs (the jobs it runs go on). */
  async pauseWorkers(): Promise<void> {
    const workers = await Promise.all([...this.workers.values()].map((w) => w.catch(() => undefined)));
    await Promise.all(workers.map((worker) => worker?.pause(true)));
  }

  async close(): Promise<void> {
    const workers = await Promise.all([...this.workers.values()].map((w) => w.catch(() => undefined)));
    await Promise.all(workers.map((worker) => worker?.close().catch(() => undefined)));
    const queues = await Promise.all([...this.queues.values()].map((q) => q.catch(() => undefined)));
    await Promise.all(queues.map((queue) => queue?.close().catch(() => undefined)));
  }
}
