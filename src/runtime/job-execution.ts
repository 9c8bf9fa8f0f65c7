/**
 * How the runtime runs one admitted job, whatever queue admitted it: the
 * job's loop-protection chain recorded first, then the execution on the
 * definition it was accepted with, with the state a synchronized execution
 * may write (fenced by its mutex grant), and in a cluster the admissions its
 * final event triggers made durable before the job counts as complete.
 */
import type { ExecutionResult } from "../result.js";
import type { SessionStore, StateStore } from "../storage/types.js";
import type { RuntimeBackend } from "./backend.js";
import { withRecordFields } from "./cluster/record-fields.js";
import type { EventIntake } from "./event-intake.js";
import type { ExecutionRunner } from "./execution-runner.js";
import { executionRequest, unrunRecord, type Job } from "./job.js";

export interface JobExecutionParts {
  intake: EventIntake;
  runner: ExecutionRunner;
  backend: RuntimeBackend;
  store: SessionStore;
  state: StateStore;
}

export function runJob(parts: JobExecutionParts, job: Job, signal: AbortSignal): Promise<ExecutionResult> {
  const { intake, runner, backend } = parts;
  // Loop protection: the chain in the job data, before the execution publishes anything.
  intake.started(job);
  // The fields a cluster node adds to its records (attempt, node).
  const store = job.recordExtra ? withRecordFields(parts.store, job) : undefined;
  const run = runner.run(executionRequest(job), signal, (status, error, nowMs) => unrunRecord(job, status, error, nowMs), stateFor(parts, job), store);
  if (!backend.cluster) return run;
  // A cluster job completes only once what its final event triggers is recorded (exactly once, event-intake.ts).
  return run.then(async (result) => {
    await intake.afterFinal(job.id);
    return result;
  });
}

/** A synchronized execution writes state with its mutex grant's fence: once a later holder exists, its writes are refused. */
function stateFor(parts: JobExecutionParts, job: Job): StateStore {
  if (job.mutexFence === undefined) return parts.state;
  return parts.backend.fencedState(job.owner.agentName, job.mutexFence);
}
