/**
 * Timer ticks for a cluster (DISTRIBUTED.md §4.4): one BullMQ job scheduler
 * per timer entry point on the queue `timers` (prefix `<redis_prefix>:bull`,
 * scheduler id = stream key), so each tick is one job, taken by one node.
 * Every node runs one tick worker; the job's processor runs the timer
 * scheduler's tick (timers.ts) and completes when it is done.
 *
 * - A scheduler is created, or upserted again, only when the timer's config
 *   differs from the stored one: upserting again drops or rewrites the
 *   overdue tick a stopped cluster left (measured, DISTRIBUTED §2).
 * - Cron: `{pattern, tz}`, with a `repeatStrategy` that asks forager's own
 *   CronSchedule (schedule.ts: the DST rule), installed on the queue and
 *   the worker of every node, so whichever node makes the next tick makes
 *   it the same way. Intervals: `{every, startDate: anchor + period}`, the
 *   first tick one period after the anchor, as on one process.
 * bullmq is imported on first use (never by `--help`, `run` or file mode).
 */
import type { Queue, RepeatOptions, Worker } from "bullmq";
import type { TimerConfig } from "../../config/schema.js";
import { errorMessage } from "../../errors.js";
import type { Logger } from "../../logging/index.js";
import type { RedisLink } from "../../storage/redis/connection.js";
import { CronSchedule } from "../schedule.js";
import type { ClusterTicks, TickHandler, TickSource } from "../tick-source.js";
import type { NodeMembership } from "./nodes-membership.js";
import type { RedisTimerLedger } from "./timer-ticks.js";

export const TIMER_QUEUE = "timers";

/** Finished tick jobs are dropped: the ledger, not BullMQ, remembers ticks. */
const TICK_JOB_OPTIONS = { removeOnComplete: true, removeOnFail: { age: 3_600 } };

const cronCache = new Map<string, CronSchedule>();

/** The repeatStrategy of every node: forager's cron rule, not cron-parser's. */
export function cronStrategy(millis: number, opts: RepeatOptions): number | undefined {
  if (!opts.pattern) return undefined;
  const id = `${opts.tz ?? ""}\u0000${opts.pattern}`;
  let schedule = cronCache.get(id);
  if (!schedule) {
    schedule = new CronSchedule(opts.pattern, opts.tz ?? undefined);
    if (cronCache.size > 1_000) cronCache.clear();
    cronCache.set(id, schedule);
  }
  return schedule.next(millis) ?? undefined;
}

/** The repeat options a timer config asks for; intervals anchored at `anchorMs`. */
export function repeatFor(config: TimerConfig, anchorMs: number): RepeatOptions {
  if (config.cron) return { pattern: config.cron, tz: config.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone };
  const seconds = config.interval_seconds ?? (config.interval_minutes ?? 0) * 60;
  const every = Math.max(1, Math.round(seconds * 1000));
  return { every, startDate: anchorMs + every };
}

/** True when the stored scheduler already runs this schedule (the anchor is not compared: it is the first node's). */
function sameSchedule(stored: { pattern?: string | null; tz?: string | null; every?: number | null } | undefined, wanted: RepeatOptions): boolean {
  if (!stored) return false;
  if (wanted.pattern) return stored.pattern === wanted.pattern && (stored.tz ?? undefined) === wanted.tz && !stored.every;
  return Number(stored.every) === wanted.every && !stored.pattern;
}

/** The scheduled time of a scheduler's job: its id is `repeat:<scheduler id>:<millis>`. */
export function scheduledAtOf(jobId: string | undefined, prevMillis?: number): number | undefined {
  const fromId = jobId ? Number(jobId.slice(jobId.lastIndexOf(":") + 1)) : NaN;
  if (Number.isFinite(fromId) && fromId > 0) return fromId;
  return prevMillis;
}

export interface ClusterTickOptions {
  logger: Logger;
  membership: NodeMembership;
  ledger: RedisTimerLedger;
  /** Tick jobs one node runs at once (default 8). */
  concurrency?: number;
}

export class ClusterTickSource implements TickSource, ClusterTicks {
  private readonly handlers = new Map<string, TickHandler>();
  private readonly next = new Map<string, number | null>();
  private queue: Promise<Queue> | undefined;
  private worker: Worker | undefined;
  private closed = false;

  constructor(
    private readonly link: RedisLink,
    private readonly options: ClusterTickOptions,
  ) {}

  get cluster(): ClusterTicks {
    return this;
  }

  get ledger(): RedisTimerLedger {
    return this.options.ledger;
  }

  get paused(): boolean {
    return this.options.ledger.paused;
  }

  setPaused(paused: boolean): Promise<void> {
    return this.options.ledger.setPaused(paused);
  }

  /** The shared schedule repeats by itself: the timer scheduler registers instead (ClusterTicks.register). */
  arm(): void {}

  /** This node stops taking the key's ticks; the schedule stays for the other nodes. */
  disarm(key: string): void {
    this.handlers.delete(key);
  }

  async open(): Promise<boolean> {
    const clusterStart = await this.options.membership.join();
    await this.options.ledger.refreshPaused();
    return clusterStart;
  }

  async register(key: string, config: TimerConfig, anchorMs: number, due: TickHandler): Promise<void> {
    this.handlers.set(key, due);
    const queue = await this.timerQueue();
    const wanted = repeatFor(config, anchorMs);
    const stored = await queue.getJobScheduler(key);
    if (sameSchedule(stored, wanted)) {
      this.next.set(key, stored?.next ?? null);
      return;
    }
    const job = await queue.upsertJobScheduler(key, wanted, { name: "tick", data: { key }, opts: TICK_JOB_OPTIONS });
    this.options.logger.info({ timer: key, schedule: wanted }, `timer ${key}: cluster schedule ${stored ? "changed" : "created"}`);
    this.next.set(key, scheduledAtOf(job?.id) ?? null);
  }

  async unregister(key: string, drop: boolean): Promise<void> {
    this.handlers.delete(key);
    this.next.delete(key);
    if (drop) await (await this.timerQueue()).removeJobScheduler(key);
  }

  async run(): Promise<void> {
    if (this.worker || this.closed) return;
    const { Worker } = await import("bullmq");
    const connection = await this.link.dedicated("blocking", "timer-ticks");
    this.worker = new Worker(TIMER_QUEUE, async (job) => this.process(job.data?.key ?? job.repeatJobKey, scheduledAtOf(job.id, job.opts.prevMillis)), {
      connection,
      prefix: this.link.key("bull"),
      concurrency: this.options.concurrency ?? 8,
      settings: { repeatStrategy: cronStrategy },
    });
    this.worker.on("error", (err) => this.options.logger.warn({ err }, `timer tick worker: ${errorMessage(err)}`));
  }

  nextRunAt(key: string): number | null {
    return this.next.get(key) ?? null;
  }

  count(key: string, outcome: "fired" | "skipped", n: number, firedAtMs?: number): void {
    this.options.ledger.count(key, outcome, n, firedAtMs);
  }

  /** The stored next tick of `key`, read from the scheduler. */
  async storedNext(key: string): Promise<number | null> {
    const stored = await (await this.timerQueue()).getJobScheduler(key);
    return stored?.next ?? null;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    const worker = this.worker;
    this.worker = undefined;
    await worker?.close().catch((err: unknown) => this.options.logger.warn({ err }, "closing the timer tick worker failed"));
    const queue = this.queue;
    this.queue = undefined;
    await (await queue?.catch(() => undefined))?.close().catch(() => undefined);
  }

  private async process(key: string | undefined, scheduledAtMs: number | undefined): Promise<void> {
    if (!key || scheduledAtMs === undefined) return;
    // The next tick exists by now (the worker adds it when it takes this one).
    void this.storedNext(key).then((next) => this.next.set(key, next), () => undefined);
    const due = this.handlers.get(key);
    if (!due) {
      this.options.logger.warn({ timer: key }, `timer ${key}: a tick came to a node that has no such timer; dropped`);
      return;
    }
    await due(scheduledAtMs);
  }

  private timerQueue(): Promise<Queue> {
    if (this.closed && !this.queue) return Promise.reject(new Error("the cluster tick source is closed"));
    const pending = (this.queue ??= (async () => {
      const { Queue } = await import("bullmq");
      const queue = new Queue(TIMER_QUEUE, { connection: await this.link.commands(), prefix: this.link.key("bull"), settings: { repeatStrategy: cronStrategy } });
      queue.on("error", (err) => this.options.logger.warn({ err }, `timer queue: ${errorMessage(err)}`));
      return queue;
    })());
    pending.catch(() => {
      if (this.queue === pending) this.queue = undefined;
    });
    return pending;
  }
}
