import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import { TriggerRefusedError } from "../../src/runtime/errors.js";
import { TriggerError } from "../../src/runtime/types.js";
import { StateError } from "../../src/errors.js";
import { FakeClock } from "../../src/util/clock.js";
import { FileSessionStore } from "../../src/storage/sessions.js";
import { MemorySessionStore } from "../../src/storage/memory.js";
import type { ExecutionRecord } from "../../src/result.js";
import { fakeExecutor, plainAgent, tempDir } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";

const api = (extra: Record<string, unknown>) => ({ id: "api", trigger_type: "api", ...extra });

describe("entry point streams", () => {
  test("1000 triggers into max_concurrent 5 never run more than 5 at once and all complete", async () => {
    const fake = fakeExecutor(1);
    const runtime = new AgentRuntime({ agent: plainAgent("burst", [api({ max_concurrent: 5, max_queued: 1000 })]), execute: fake.execute });
    await runtime.start();
    const ids = await Promise.all(Array.from({ length: 1000 }, (_, i) => runtime.trigger("api", { i })));
    const results = await Promise.all(ids.map((id) => runtime.waitForCompletion(id, { timeoutMs: 30_000 })));
    assert.equal(results.filter((r) => r?.status === "completed").length, 1000);
    assert.equal(fake.maxRunning, 5);
    const stats = (await runtime.getStats()).streams["burst/api"]!;
    assert.equal(stats.status_counts.completed, 1000);
    assert.equal(stats.status_counts.queued, 0);
    assert.equal(stats.available_slots, 5);
    await runtime.stop();
  });

  test("max_concurrent_executions caps running executions across agents", async () => {
    const fake = fakeExecutor(5);
    const runtime = new AgentRuntime({
      agents: [plainAgent("one", [api({ max_concurrent: 10 })]), plainAgent("two", [api({ max_concurrent: 10 })])],
      config: { max_concurrent_executions: 3 },
      execute: fake.execute,
    });
    await runtime.start();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await runtime.trigger("api", {}, { agent: i % 2 ? "one" : "two" }));
    assert.equal((await runtime.getStats()).active_executions, 3);
    assert.equal((await runtime.getStats()).queued_executions, 17);
    await Promise.all(ids.map((id) => runtime.waitForCompletion(id)));
    assert.equal(fake.maxRunning, 3);
    assert.deepEqual(new Set(fake.started.map((o) => o.agent.name)), new Set(["one", "two"]));
    await runtime.stop();
  });

  test("cancel_previous really stops the running execution and continues in its session", async () => {
    const fake = fakeExecutor(60_000);
    const runtime = new AgentRuntime({ agent: plainAgent("single", [api({ max_concurrent: 1 })]), execute: fake.execute });
    await runtime.start();
    const first = await runtime.trigger("api", { n: 1 });
    const second = await runtime.trigger("api", { n: 2 });
    const firstResult = await runtime.waitForCompletion(first, { timeoutMs: 5000 });
    assert.equal(firstResult?.status, "cancelled");
    assert.equal(firstResult?.error?.reason, "cancel_previous");
    assert.deepEqual(fake.stoppedEarly, [first]);
    await waitFor("the successor to start", () => fake.running > 0, { stepMs: 1 });
    assert.equal(fake.running, 1);
    assert.equal(fake.maxRunning, 1);
    const running = await runtime.getExecution(second);
    assert.equal(running?.status, "running");
    assert.equal(running?.session_id, firstResult?.session_id);
    await runtime.stop({ graceMs: 0 });
    assert.equal((await runtime.getExecution(second))?.status, "cancelled");
  });

  test("skip and reject answer at once while busy, and a full queue rejects", async () => {
    const fake = fakeExecutor(60_000);
    const runtime = new AgentRuntime({
      agent: plainAgent("busy", [
        { id: "skipper", trigger_type: "api", max_concurrent: 1, overlap: "skip" },
        { id: "rejecter", trigger_type: "api", max_concurrent: 1, overlap: "reject" },
        { id: "queuer", trigger_type: "api", max_concurrent: 1, overlap: "queue", max_queued: 1 },
      ]),
      execute: fake.execute,
    });
    await runtime.start();
    for (const id of ["skipper", "rejecter", "queuer"]) await runtime.trigger(id);
    assert.deepEqual(await runtime.submit({ entryPoint: "skipper" }), { status: "skipped", reason: "busy/skipper is busy (1 running, overlap: skip)" });
    const rejected = await runtime.submit({ entryPoint: "rejecter" });
    assert.equal(rejected.status, "rejected");
    await assert.rejects(runtime.trigger("rejecter"), (err: unknown) => err instanceof TriggerRefusedError && /rejected/.test(err.message));
    assert.equal((await runtime.submit({ entryPoint: "queuer" })).status, "queued");
    const full = await runtime.submit({ entryPoint: "queuer" });
    assert.equal(full.status, "rejected");
    assert.match((full as { reason: string }).reason, /queue of busy\/queuer is full/);
    assert.equal((await runtime.getStats()).streams["busy/queuer"]!.status_counts.queued, 1);
    await runtime.stop({ graceMs: 0 });
  });

  test("input failing input_schema is rejected with every problem", async () => {
    const fake = fakeExecutor(1);
    const schema = { type: "object", properties: { query: { type: "string" }, n: { type: "integer" } }, required: ["query"] };
    const runtime = new AgentRuntime({ agent: plainAgent("typed", [api({ input_schema: schema })]), execute: fake.execute });
    await runtime.start();
    await assert.rejects(runtime.trigger("api", { n: "x" }), (err: unknown) => {
      assert.ok(err instanceof TriggerError);
      assert.equal(err.kind, "invalid_input");
      assert.match(err.message, /query/);
      assert.match(err.message, /"n" must be an integer, got string/);
      return true;
    });
    await assert.rejects(runtime.trigger("nope"), (err: unknown) => err instanceof TriggerError && err.kind === "not_found");
    assert.equal(fake.started.length, 0);
    await runtime.stop();
  });

  test("a trigger is on disk when it is acknowledged, whether it started at once or was queued", async (t) => {
    const dir = await tempDir(t);
    // The fake executor writes nothing: whatever is on disk was written at
    // admission. On a fake clock the first cannot end before the reads below.
    const clock = new FakeClock(Date.now());
    const fake = fakeExecutor(200, clock);
    const runtime = new AgentRuntime({ agent: plainAgent("acked", [api({ max_concurrent: 1, overlap: "queue" })]), storagePath: dir, execute: fake.execute, clock });
    await runtime.start();
    const started = await runtime.trigger("api", { n: 1 });
    const queued = await runtime.trigger("api", { n: 2 });
    const reader = new FileSessionStore(dir);
    assert.deepEqual(
      [await reader.get(started), await reader.get(queued)].map((r) => r && { status: r.status, input: r.input }),
      [
        { status: "running", input: { n: 1 } },
        { status: "queued", input: { n: 2 } },
      ],
    );
    await runtime.stop({ graceMs: 0 });
  });

  test("a trigger whose record cannot be written is refused and does not run unrecorded", async () => {
    class FullDisk extends MemorySessionStore {
      override save(record: ExecutionRecord): Promise<void> {
        return ["queued", "running"].includes(record.status) ? Promise.reject(new Error("ENOSPC: no space left on device")) : super.save(record);
      }
    }
    const fake = fakeExecutor(5000);
    const runtime = new AgentRuntime({ agent: plainAgent("full", [api({})]), store: new FullDisk(), execute: fake.execute });
    await runtime.start();
    await assert.rejects(runtime.trigger("api", { n: 1 }), /could not record the execution on disk: ENOSPC/);
    const stats = async () => (await runtime.getStats()).streams["full/api"]!.status_counts;
    for (let i = 0; i < 100 && (await stats()).running > 0; i++) await new Promise((r) => setTimeout(r, 10));
    const { running, queued, cancelled } = await stats();
    assert.deepEqual({ running, queued, cancelled }, { running: 0, queued: 0, cancelled: 1 });
    await runtime.stop({ graceMs: 0 });
  });

  test("an idempotency key repeated after a restart returns the first execution", async (t) => {
    const dir = await tempDir(t);
    const fake = fakeExecutor(1);
    const agent = plainAgent("idem", [api({})]);
    const first = new AgentRuntime({ agent, storagePath: dir, execute: fake.execute });
    await first.start();
    const id = await first.trigger("api", {}, { idempotencyKey: "delivery-1" });
    assert.equal(await first.trigger("api", {}, { idempotencyKey: "delivery-1" }), id);
    await first.waitForCompletion(id);
    await first.stop();
    const second = new AgentRuntime({ agent, storagePath: dir, execute: fake.execute });
    await second.start();
    const again = await second.submit({ entryPoint: "api", idempotencyKey: "delivery-1" });
    assert.deepEqual(again, { status: "completed", execution_id: id, session_id: (await second.getExecution(id))!.session_id, duplicate: true });
    const other = await second.trigger("api", {}, { idempotencyKey: "delivery-2" });
    assert.notEqual(other, id);
    await second.waitForCompletion(other, { timeoutMs: 5000 });
    // Across both runtimes only two executions ever started: the repeat started nothing.
    assert.equal(fake.started.length, 2);
    await second.stop();
  });

  test("stop lets running executions finish, records queued ones as cancelled with their input, then refuses triggers", async (t) => {
    const dir = await tempDir(t);
    // A fake clock: the running two cannot finish (and free a slot for a
    // queued one) before stop() is called, however slow the triggers are.
    const clock = new FakeClock(Date.now());
    const fake = fakeExecutor(50, clock);
    const runtime = new AgentRuntime({ agent: plainAgent("drain", [api({ max_concurrent: 2 })]), storagePath: dir, execute: fake.execute, clock });
    await assert.rejects(runtime.trigger("api"), (err: unknown) => err instanceof StateError && /created/.test(err.message));
    await runtime.start();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await runtime.trigger("api", { i }));
    while (fake.running < 2) await new Promise((resolve) => setImmediate(resolve));
    const stopping = runtime.stop({ graceMs: 5000 });
    await clock.advance(50);
    await stopping;
    const statuses = await Promise.all(ids.map(async (id) => (await runtime.getExecution(id))!.status));
    assert.deepEqual(statuses, ["completed", "completed", "cancelled", "cancelled", "cancelled"]);
    const queued = await runtime.store.get(ids[4]!);
    assert.equal(queued?.status, "cancelled");
    assert.equal(queued?.error?.reason, "shutdown");
    assert.deepEqual(queued?.input, { i: 4 });
    await assert.rejects(runtime.trigger("api"), (err: unknown) => err instanceof StateError && /stopped/.test(err.message));
    await runtime.stop();
  });

  test("stop cancels what outlives the grace period", async () => {
    const fake = fakeExecutor(60_000);
    const runtime = new AgentRuntime({ agent: plainAgent("slow", [api({})]), execute: fake.execute });
    await runtime.start();
    const id = await runtime.trigger("api");
    await runtime.stop({ graceMs: 20 });
    const result = await runtime.getExecution(id);
    assert.equal(result?.status, "cancelled");
    assert.equal(result?.error?.reason, "shutdown");
    assert.deepEqual(fake.stoppedEarly, [id]);
    assert.equal(runtime.state, "stopped");
  });
});
