import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createBackend } from "../../src/runtime/backend.js";
import type { ExecutionQueue } from "../../src/runtime/execution-queue.js";
import type { Job } from "../../src/runtime/job.js";
import { EntryPointStream } from "../../src/runtime/stream.js";
import type { ExecutionResult } from "../../src/result.js";
import type { TriggerOutcome } from "../../src/runtime/types.js";
import { EventBus } from "../../src/events/bus.js";
import { silentLogger } from "../../src/logging/index.js";
import { FakeClock } from "../../src/util/clock.js";
import { unrunRecord } from "../../src/runtime/job.js";
import { plainAgent } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";

/** The in-process queue over a memory backend, with a runner the test finishes by hand. */
function setup(overlap = "queue") {
  const clock = new FakeClock(Date.now());
  const logger = silentLogger();
  const bus = new EventBus({ logger, clock });
  const backend = createBackend({ max_concurrent_executions: 10, execution_result_max: 100, cache_ttl: 60 }, { clock, logger });
  const queue: ExecutionQueue = backend.createQueue({ clock, logger, publish: (init) => bus.publish(init), accepting: true });
  const agent = plainAgent("q", [{ id: "api", trigger_type: "api", max_concurrent: 1, overlap }]);
  const stream = new EntryPointStream(agent, agent.entry_points[0]!);
  queue.addStream(stream);
  const running = new Map<string, () => void>();
  const runner = (job: Job, _stream: EntryPointStream, signal: AbortSignal) =>
    new Promise<ExecutionResult>((resolve) => {
      const finish = (status: "completed" | "cancelled") =>
        resolve({ ...unrunRecord(job, status, { code: status, message: status }, clock.now()), success: status === "completed", error: null });
      running.set(job.id, () => finish("completed"));
      signal.addEventListener("abort", () => finish("cancelled"), { once: true });
    });
  return { queue, stream, backend, running, runner };
}

function idOf(outcome: TriggerOutcome): string {
  assert.ok("execution_id" in outcome, `admitted, not ${outcome.status}`);
  return outcome.execution_id;
}

describe("ExecutionQueue (in-process)", () => {
  test("takes no work before start(runner)", async () => {
    const { queue, stream } = setup();
    await assert.rejects(queue.admit(stream, {}), /the execution queue takes no work before start\(runner\)/);
    assert.deepEqual(queue.totals(), { running: 0, queued: 0 });
  });

  test("admit, counts, totals, live, cancel of a queued job, settled and recent", async () => {
    const { queue, stream, backend, running, runner } = setup();
    queue.start(runner);
    const first = idOf(await queue.admit(stream, { n: 1 }));
    const second = idOf(await queue.admit(stream, { n: 2 }));
    assert.deepEqual(queue.counts(stream), { active: 1, waiting: 1, successor: false, avgMs: 0 });
    assert.deepEqual(queue.totals(), { running: 1, queued: 1 });
    await waitFor("the first to reach the runner", () => running.has(first));
    assert.equal(queue.live(first)?.phase, "running");
    assert.equal(queue.live(second)?.phase, "queued");

    const cancelled = await queue.cancel(second, "user");
    assert.equal(cancelled?.status, "cancelled");
    assert.equal(queue.live(second), undefined);
    assert.equal(queue.recent(second)?.status, "cancelled");
    assert.equal(await queue.cancel("exec_unknown", "user"), undefined);
    assert.equal(queue.settled("exec_unknown"), undefined);

    const settled = queue.settled(first)!;
    running.get(first)!();
    assert.equal((await settled).status, "completed");
    assert.equal(queue.live(first), undefined);
    assert.equal(queue.recent(first)?.status, "completed");
    assert.deepEqual(queue.totals(), { running: 0, queued: 0 });
    assert.equal(backend.limiter.active, 0);
    await queue.flushWrites();
    assert.equal((await backend.store.get(second))?.status, "cancelled", "a job cancelled while queued is recorded");
  });

  test("a runner that throws (a broken contract): its job ends failed and recorded, its slot goes to the next job", async () => {
    const { queue, stream, backend, running, runner } = setup();
    let calls = 0;
    queue.start((job, jobStream, signal) => (++calls === 1 ? Promise.reject(new Error("a bug in the runner")) : runner(job, jobStream, signal)));
    const first = idOf(await queue.admit(stream, {}));
    const failed = queue.settled(first)!;
    const second = idOf(await queue.admit(stream, {}));
    const result = await failed;
    assert.equal(result.status, "failed");
    assert.deepEqual(result.error, { code: "startup_failed", message: "a bug in the runner", node_id: null });
    await waitFor("the second job to take the freed slot", () => running.has(second));
    running.get(second)!();
    assert.equal((await queue.settled(second)!).status, "completed");
    assert.deepEqual(queue.totals(), { running: 0, queued: 0 });
    assert.equal(backend.limiter.active, 0);
    await queue.flushWrites();
    assert.equal((await backend.store.get(first))?.status, "failed", "the failed execution is recorded");
  });

  test("cancel of a running job aborts the runner's signal and resolves once it has stopped", async () => {
    const { queue, stream, running, runner } = setup("skip");
    queue.start(runner);
    const id = idOf(await queue.admit(stream, {}));
    assert.deepEqual(await queue.admit(stream, {}), { status: "skipped", reason: "q/api is busy (1 running, overlap: skip)" });
    await waitFor("the job to reach the runner", () => running.has(id));
    assert.equal((await queue.cancel(id, "user"))?.status, "cancelled");
    assert.deepEqual(queue.runningJobs(), []);
  });
});
