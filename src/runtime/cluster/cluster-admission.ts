/**
 * Admission across the cluster (DISTRIBUTED §4.1): under the entry point's
 * admission lock, count its BullMQ jobs, let the pure decideAdmission
 * decide exactly as on one process, write the queued record, then add the
 * job (job id = execution id). Two nodes never both see a free slot, so
 * skip, reject, a full queue and cancel_previous are exact cluster-wide.
 *
 * How BullMQ's counts map to the policy's: the entry point's queue has
 * `setGlobalConcurrency(max_concurrent)`, so a job in `wait` within the
 * free capacity starts as soon as a worker takes it; it holds a slot as a
 * running one does. Beyond that capacity it is queued. A cancel_previous
 * successor waits in `wait` for its victim's processor to return, and is
 * named by `<prefix>:ep:<queue>:successor`.
 *
 * Any Redis failure throws RedisUnavailableError; a trigger is reported
 * admitted only once its record is saved and its job added.
 */
import { errorMessage } from "../../errors.js";
import type { ExecutionRecord } from "../../result.js";
import type { RedisLink } from "../../storage/redis/connection.js";
import { isRedisUnavailable, RedisUnavailableError } from "../../storage/redis/connection.js";
import type { SessionStore } from "../../storage/types.js";
import { decideAdmission } from "../admission.js";
import type { AdmitOptions, QueueHost } from "../execution-queue.js";
import { newJob, queuedEvent, queuedRecord } from "../job.js";
import type { EntryPointStream } from "../stream.js";
import type { TriggerOutcome } from "../types.js";
import { withAdmissionLock } from "./admission-lock.js";
import { jobData, queueName, type ClusterJobData } from "./job-data.js";
import type { Queue, Job as BullJob } from "bullmq";

/** What admission needs from the node's queue. */
export interface AdmissionContext {
  link: RedisLink;
  store: SessionStore;
  host: QueueHost;
  queueFor(stream: EntryPointStream): Promise<Queue>;
  /** Asks whichever node runs the execution to abort it (cancel channel). */
  cancelRunning(executionId: string, reason: string): Promise<void>;
  /** Saves the final record of an execution that never ran, with its event and done message. */
  recordUnrun(record: ExecutionRecord): Promise<void>;
  /** Job options every add uses (retention of finished jobs, attempts 1). */
  jobOptions: Record<string, unknown>;
}

const WAITING_STATES = new Set(["waiting", "prioritized", "delayed"]);

/** The per-entry-point keys of admission. */
export function admissionKeys(link: RedisLink, name: string): { successor: string; avgMs: string } {
  return { successor: link.key("ep", name, "successor"), avgMs: link.key("ep", name, "avg_ms") };
}

export async function admitToCluster(ctx: AdmissionContext, stream: EntryPointStream, input: Record<string, unknown>, options: AdmitOptions): Promise<TriggerOutcome> {
  const name = queueName(stream.agentName, stream.id);
  try {
    return await withAdmissionLock(ctx.link, name, () => admitLocked(ctx, stream, name, input, options));
  } catch (err) {
    if (isRedisUnavailable(err)) {
      throw err instanceof RedisUnavailableError ? err : new RedisUnavailableError(`could not admit to ${stream.key}: ${errorMessage(err)}`, { cause: err });
    }
    throw err;
  }
}

async function admitLocked(ctx: AdmissionContext, stream: EntryPointStream, name: string, input: Record<string, unknown>, options: AdmitOptions): Promise<TriggerOutcome> {
  const { link, store, host } = ctx;
  const redis = await link.commands();
  const queue = await ctx.queueFor(stream);
  const keys = admissionKeys(link, name);
  const [counts, successorId, avgRaw] = await Promise.all([
    queue.getJobCounts("active", "wait", "prioritized"),
    redis.get(keys.successor),
    redis.get(keys.avgMs),
  ]);
  let successor: BullJob | undefined;
  if (successorId) {
    const found = (await queue.getJob(successorId)) as BullJob | undefined;
    if (found && WAITING_STATES.has(await found.getState())) successor = found;
  }
  const max = stream.maxConcurrent;
  const running = counts.active ?? 0;
  const waitingAll = (counts.wait ?? 0) + (counts.prioritized ?? 0) - (successor ? 1 : 0);
  // A waiting job within the free capacity starts as soon as a worker takes it: it holds a slot.
  const starting = Math.min(waitingAll, Math.max(0, max - running - (successor ? 1 : 0)));
  const decision = decideAdmission(stream, {
    active: running + starting,
    waiting: waitingAll - starting,
    successor: successor !== undefined,
    avgMs: Number(avgRaw ?? 0) || 0,
  });
  if (decision.kind === "skip") return { status: "skipped", reason: decision.reason };
  if (decision.kind === "reject") return { status: "rejected", reason: decision.reason, retry_after_seconds: decision.retryAfterSeconds };

  const now = host.clock.now();
  const job = newJob(stream, input, options, now);
  options.onCreated?.(job);
  if (decision.kind === "replace") {
    const victim = decision.victim === "successor" ? successor! : await oldestHolder(queue);
    if (victim) {
      job.sessionId = (victim.data as ClusterJobData).sessionId;
      await displace(ctx, victim, "cancel_previous");
    }
  }
  const startsNow = decision.kind === "start";
  const record = queuedRecord(job);
  await store.save(record);
  if (!startsNow) {
    // As on one process: only an execution that waits says it is queued.
    const published = host.publish(queuedEvent(job));
    await store.appendEvents(job.owner.agentName, job.sessionId, [published]);
  }
  try {
    await queue.add(name, jobData(job), { ...ctx.jobOptions, jobId: job.id });
  } catch (err) {
    // Recorded but not queued: it will never run, so it is not accepted either.
    await ctx.recordUnrun(cancelledBeforeStart(record, "storage_error", host.clock.now())).catch(() => undefined);
    throw err;
  }
  if (decision.kind === "replace") await redis.set(keys.successor, job.id, "PX", 86_400_000);
  return { status: startsNow ? "running" : "queued", execution_id: job.id, session_id: job.sessionId };
}

/**
 * The job holding the entry point's oldest slot: the oldest active one,
 * else the oldest waiting one. The waiting ones are read first: a worker
 * moves a job from waiting to active at any moment, and in this order a
 * job it takes between the two reads is still seen (as active) rather
 * than missed by both, which let the first execution of a burst survive
 * its cancel_previous successor.
 */
async function oldestHolder(queue: Queue): Promise<BullJob | undefined> {
  const byAge = (jobs: (BullJob | undefined)[]) => jobs.filter((j): j is BullJob => j !== undefined).sort((a, b) => a.timestamp - b.timestamp)[0];
  const waiting = await queue.getJobs(["wait", "prioritized"]);
  return byAge(await queue.getJobs(["active"])) ?? byAge(waiting);
}

/**
 * Takes a cancel_previous victim out of the way: a waiting one is removed
 * and recorded cancelled; one a worker holds (or took a moment ago, so
 * remove fails) is cancelled over the cancel channel.
 */
async function displace(ctx: AdmissionContext, victim: BullJob, reason: string): Promise<void> {
  const id = victim.id!;
  if (WAITING_STATES.has(await victim.getState())) {
    let removed = false;
    try {
      await victim.remove();
      removed = true;
    } catch {
      // A worker took it between the read and the remove: it is running now.
    }
    if (removed) {
      const record = await ctx.store.get(id);
      if (record) await ctx.recordUnrun(cancelledBeforeStart(record, reason, ctx.host.clock.now()));
      return;
    }
  }
  await ctx.cancelRunning(id, reason);
}

/** Removes an execution still waiting in Redis and records it cancelled; undefined when a worker holds it by now. */
export async function removeWaiting(ctx: AdmissionContext, queue: Queue, record: ExecutionRecord, reason: string): Promise<ExecutionRecord | undefined> {
  return withAdmissionLock(ctx.link, queue.name, async () => {
    const job = (await queue.getJob(record.execution_id)) as BullJob | undefined;
    if (!job || !WAITING_STATES.has(await job.getState())) return undefined;
    try {
      await job.remove();
    } catch {
      return undefined;
    }
    const cancelled = cancelledBeforeStart(record, reason, ctx.host.clock.now());
    await ctx.recordUnrun(cancelled);
    return cancelled;
  });
}

/** Folds a finished execution's duration into the entry point's average (Retry-After hints on every node). */
export async function noteDuration(link: RedisLink, name: string, ms: number): Promise<void> {
  const redis = await link.commands();
  const key = admissionKeys(link, name).avgMs;
  const old = Number((await redis.get(key)) ?? 0) || 0;
  await redis.set(key, String(Math.round(old === 0 ? ms : old * 0.8 + ms * 0.2)));
}

/** The final record of an execution cancelled while it waited in its queue. */
export function cancelledBeforeStart(record: ExecutionRecord, reason: string, nowMs: number): ExecutionRecord {
  return {
    ...record,
    status: "cancelled",
    success: false,
    error: { code: "cancelled", message: `cancelled before it started (${reason})`, node_id: null, reason },
    finished_at: new Date(nowMs).toISOString(),
    duration_ms: 0,
  };
}
