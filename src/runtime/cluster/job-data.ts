/**
 * What a BullMQ job carries: the queue of an entry
 * point is `<agent>.<entry point id>` and the job id is the execution id;
 * the data is `{v: 1, agent, entryPoint, input, sessionId, queuedAt,
 * idempotencyKey?, traceparent?, rerunOf?, chain?}`, enough for any node to
 * rebuild the Job with its own copy of the agent definition.
 */
import type { Job } from "../job.js";
import type { EntryPointStream } from "../stream.js";

export interface ClusterJobData {
  v: 1;
  agent: string;
  entryPoint: string;
  input: Record<string, unknown>;
  sessionId: string;
  /** ISO time of admission. */
  queuedAt: string;
  idempotencyKey?: string;
  traceparent?: string;
  rerunOf?: string;
  chain?: string[];
  /** Times a stopping node handed the job back before running it (they are not attempts). */
  returned?: number;
}

/** The BullMQ queue of an entry point; ids are [a-z0-9_-], so `.` cannot be ambiguous and BullMQ refuses `:`. */
export function queueName(agent: string, entryPoint: string): string {
  return `${agent}.${entryPoint}`;
}

export function jobData(job: Job): ClusterJobData {
  return {
    v: 1,
    agent: job.owner.agentName,
    entryPoint: job.owner.entryPointId,
    input: job.input,
    sessionId: job.sessionId,
    queuedAt: new Date(job.queuedAtMs).toISOString(),
    ...(job.idempotencyKey === undefined ? {} : { idempotencyKey: job.idempotencyKey }),
    ...(job.traceparent === undefined ? {} : { traceparent: job.traceparent }),
    ...(job.rerunOf === undefined ? {} : { rerunOf: job.rerunOf }),
    ...(job.chain === undefined ? {} : { chain: [...job.chain] }),
  };
}

/** The Job a node runs: the data from Redis, the definition this node has for the stream. */
export function jobFromData(id: string, data: ClusterJobData, stream: EntryPointStream): Job {
  if (data.v !== 1) throw new Error(`job ${id} has data version ${String(data.v)}; this forager reads version 1`);
  return {
    id,
    sessionId: data.sessionId,
    owner: { agentName: data.agent, entryPointId: data.entryPoint },
    agent: stream.agent,
    entryPoint: stream.entryPoint,
    input: data.input,
    queuedAtMs: Date.parse(data.queuedAt),
    ...(data.idempotencyKey === undefined ? {} : { idempotencyKey: data.idempotencyKey }),
    ...(data.traceparent === undefined ? {} : { traceparent: data.traceparent }),
    ...(data.rerunOf === undefined ? {} : { rerunOf: data.rerunOf }),
    ...(data.chain === undefined ? {} : { chain: data.chain }),
    phase: "queued",
  };
}
