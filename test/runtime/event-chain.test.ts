// Loop protection of event-triggered executions travels in the job data
// (Job.chain): the process that starts a job records its chain, so it is
// protected even when another process admitted it.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createBackend } from "../../src/runtime/backend.js";
import { EventIntake } from "../../src/runtime/event-intake.js";
import type { AdmitOptions } from "../../src/runtime/execution-queue.js";
import type { Job } from "../../src/runtime/job.js";
import { unrunRecord } from "../../src/runtime/job.js";
import { EntryPointStream } from "../../src/runtime/stream.js";
import type { ForagerEvent } from "../../src/events/types.js";
import { EventBus } from "../../src/events/bus.js";
import { silentLogger } from "../../src/logging/index.js";
import type { ExecutionResult } from "../../src/result.js";
import { FakeClock } from "../../src/util/clock.js";
import { plainAgent } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";

/** Agent `a` reacts to `b`'s completions and `b` to `a`'s: without loop protection they trigger each other forever. */
function pingPong(): EntryPointStream[] {
  const onCompleted = (graph: string) => ({ trigger_type: "event", trigger_config: { event_types: ["execution_completed"], filter_graph: graph } });
  const a = plainAgent("a", [{ id: "on_b", ...onCompleted("b") }]);
  const b = plainAgent("b", [{ id: "on_a", ...onCompleted("a") }]);
  return [new EntryPointStream(a, a.entry_points[0]!), new EntryPointStream(b, b.entry_points[0]!)];
}

/** One process's intake over a queue that only remembers what it was asked to admit. */
function node(streams: EntryPointStream[]) {
  const clock = new FakeClock(Date.now());
  const admitted: Job[] = [];
  const intake = new EventIntake({
    clock,
    logger: silentLogger(),
    ingestLog: { append: async () => undefined, prune: async () => [], close: async () => undefined },
    publish: (init) => ({ ...init, id: `evt_${admitted.length}` }) as ForagerEvent,
    admit: async (stream, input, options: AdmitOptions) => {
      const job = {
        id: `exec_${stream.agentName}_${admitted.length}`,
        sessionId: "sess",
        owner: { agentName: stream.agentName, entryPointId: stream.id },
        agent: stream.agent,
        entryPoint: stream.entryPoint,
        input,
        queuedAtMs: clock.now(),
        ...(options.chain ? { chain: options.chain } : {}),
        phase: "queued",
      } satisfies Job;
      admitted.push(job);
      options.onCreated?.(job);
      return { status: "queued", execution_id: job.id, session_id: job.sessionId };
    },
    cancel: async () => undefined,
  });
  for (const stream of streams) intake.setStream(stream);
  return { intake, admitted };
}

function completed(job: Pick<Job, "id" | "owner">): ForagerEvent {
  return {
    id: `evt_${job.id}`,
    type: "execution_completed",
    timestamp: new Date().toISOString(),
    graph_id: job.owner.agentName,
    stream_id: job.owner.entryPointId,
    execution_id: job.id,
    data: {},
  } as ForagerEvent;
}

describe("event trigger chains in the job data", () => {
  test("admission puts the upstream chain, own key last, on the job", () => {
    const { intake, admitted } = node(pingPong());
    // An execution of `a` nothing upstream started (an API trigger, say).
    intake.onEvent(completed({ id: "exec_api", owner: { agentName: "a", entryPointId: "api" } }));
    assert.deepEqual(admitted.map((job) => [job.owner.agentName, job.chain]), [["b", ["b/on_a"]]]);
    // Its completion triggers `a`, whose chain now holds both.
    intake.onEvent(completed(admitted[0]!));
    assert.deepEqual(admitted[1]?.chain, ["b/on_a", "a/on_b"]);
    // And `a`'s completion stops there: `b` is upstream already.
    intake.onEvent(completed(admitted[1]!));
    assert.equal(admitted.length, 2);
  });

  test("a process that starts a job it did not admit is protected by the job's chain", () => {
    const streams = pingPong();
    const admitter = node(streams);
    admitter.intake.onEvent(completed({ id: "exec_api", owner: { agentName: "a", entryPointId: "api" } }));
    const b1 = admitter.admitted[0]!;

    // Another process runs b1: it never saw the admission, only the job.
    const runner = node(streams);
    runner.intake.started(b1);
    runner.intake.onEvent(completed(b1));
    const a1 = runner.admitted[0]!;
    assert.deepEqual(a1.chain, ["b/on_a", "a/on_b"], "the chain continues from b1's job data");

    // A third process runs a1: its completion must not trigger `b` again.
    const third = node(streams);
    third.intake.started(a1);
    third.intake.onEvent(completed(a1));
    assert.deepEqual(third.admitted, [], "a1's chain holds b/on_a, so b is not triggered again");

    // The same event where the chain was never recorded does loop: it is the job's chain that protects.
    const unaware = node(streams);
    unaware.intake.onEvent(completed(a1));
    assert.deepEqual(unaware.admitted.map((job) => job.owner.agentName), ["b"]);
  });

  test("the queue keeps the admitted chain on the job it hands to the runner", async () => {
    const clock = new FakeClock(Date.now());
    const logger = silentLogger();
    const bus = new EventBus({ logger, clock });
    const backend = createBackend({ max_concurrent_executions: 10, execution_result_max: 100, cache_ttl: 60 }, { clock, logger });
    const queue = backend.createQueue({ clock, logger, publish: (init) => bus.publish(init), accepting: true });
    const agent = plainAgent("q", [{ id: "api", trigger_type: "api", max_concurrent: 2 }]);
    const stream = new EntryPointStream(agent, agent.entry_points[0]!);
    queue.addStream(stream);
    const started: Job[] = [];
    queue.start(async (job) => {
      started.push(job);
      return { ...unrunRecord(job, "completed", { code: "completed", message: "completed" }, clock.now()), success: true, error: null } as ExecutionResult;
    });
    const outcome = await queue.admit(stream, {}, { chain: ["b/on_a", "a/on_b"] });
    assert.ok("execution_id" in outcome);
    const job = await waitFor("the job to reach the runner", () => started.find((j) => j.id === outcome.execution_id));
    assert.deepEqual(job.chain, ["b/on_a", "a/on_b"]);
    const plain = await queue.admit(stream, {});
    assert.ok("execution_id" in plain);
    const plainJob = await waitFor("the second job to reach the runner", () => started.find((j) => j.id === plain.execution_id));
    assert.equal(plainJob.chain, undefined, "a job no event triggered has no chain");
    await queue.flushWrites();
  });
});
