/**
 * A cancel asked through Redis reaches the node running the job by a
 * message on `<prefix>:cancel`; the key `<prefix>:cancel:<id>` backs it up
 * for a job taken after the message, or a message lost in a reconnect.
 * These read it: once when a node takes a job, and for every job it holds
 * at half a lease.
 */
import type { Logger } from "../../logging/index.js";
import type { RedisLink } from "../../storage/redis/connection.js";
import type { Job } from "../job.js";
import type { EntryPointStream } from "../stream.js";
import { admissionKeys } from "./cluster-admission.js";
import { queueName } from "./job-data.js";
import { runScript, UNLOCK } from "./lua.js";

/**
 * Before a job takes its slot: a cancel asked before this node held it
 * (the cancel key) aborts it, and a cancel_previous successor that starts
 * is no longer the successor. Best effort: the cancel sweep re-reads the
 * key, and admission checks a successor's state anyway.
 */
export async function checkIn(link: RedisLink, job: Job, stream: EntryPointStream, logger: Logger): Promise<void> {
  try {
    const redis = await link.commands();
    const asked = await redis.get(link.key("cancel", job.id));
    if (asked) job.controller?.abort(asked);
    if (stream.entryPoint.overlap === "cancel_previous") {
      await runScript(redis, UNLOCK, [admissionKeys(link, queueName(stream.agentName, stream.id)).successor], [job.id]);
    }
  } catch (err) {
    logger.warn({ err, execution_id: job.id }, "could not read the execution's cancel key");
  }
}

/** Cancels each held job whose cancel key is set. */
export async function sweepCancelKeys(link: RedisLink, jobs: Iterable<Job>, cancel: (job: Job, reason: string) => void): Promise<void> {
  const running = [...jobs].filter((job) => job.phase !== "finished" && !job.cancelReason);
  if (running.length === 0) return;
  try {
    const redis = await link.commands();
    const reasons = await redis.mget(...running.map((job) => link.key("cancel", job.id)));
    running.forEach((job, i) => {
      const reason = reasons[i];
      if (reason) cancel(job, reason);
    });
  } catch {
    // Redis away: lock renewal fails too, and the job is aborted for that.
  }
}

/**
 * The holder id of a job's leases: the execution id and the attempt, so an
 * attempt that lost its lock can never release (or renew) the leases of
 * the attempt that follows it.
 */
export function holderOf(job: Job): string {
  return `${job.id}#${job.attempt ?? 1}`;
}
