// The runtime with the real executor, real file stores and function nodes.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import type { ForagerEvent } from "../../src/events/types.js";
import { functionAgent, tempDir } from "./helpers.js";

const WAIT_FOR_ABORT = `export default ({ signal }) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("stopped"))));`;

describe("runtime with the executor", () => {
  test("50 concurrent synchronized increments of shared state end at exactly 50", async (t) => {
    const dir = await tempDir(t);
    const agent = await functionAgent(
      dir,
      "counter",
      [{ id: "inc", trigger_type: "api", isolation_level: "synchronized", max_concurrent: 50 }],
      `export default async ({ state }) => { await new Promise((r) => setTimeout(r, 1)); return { "state.counter": (state.counter ?? 0) + 1 }; };`,
    );
    agent.graph.nodes[0]!.output_keys = ["state.counter"];
    const runtime = new AgentRuntime({ agent, storagePath: join(dir, "storage") });
    await runtime.start();
    const ids = await Promise.all(Array.from({ length: 50 }, () => runtime.trigger("inc")));
    const results = await Promise.all(ids.map((id) => runtime.waitForCompletion(id, { timeoutMs: 30_000 })));
    assert.deepEqual(results.map((r) => r?.status), Array(50).fill("completed"));
    assert.equal((await runtime.stateStore.read("counter")).counter, 50);
    await runtime.stop();
    const onDisk = JSON.parse(await readFile(join(dir, "storage", "counter", "state.json"), "utf8"));
    assert.equal(onDisk.counter ?? onDisk.state?.counter, 50);
  });

  test("a guardian agent reacts to another agent's failed execution, and not to its own", async (t) => {
    const dir = await tempDir(t);
    const worker = await functionAgent(dir, "worker", [{ id: "api", trigger_type: "api" }], `export default () => { throw new Error("disk full"); };`);
    const guardian = await functionAgent(
      dir,
      "guardian",
      [{ id: "watch", trigger_type: "event", trigger_config: { event_types: ["EXECUTION_FAILED"], exclude_own_graph: true } }],
      // The guardian fails too: its own failure must not trigger it again.
      `export default ({ event }) => { throw new Error("saw " + event.graph_id + " fail"); };`,
    );
    const runtime = new AgentRuntime({ agents: [worker, guardian], storagePath: join(dir, "storage") });
    const done: ForagerEvent[] = [];
    runtime.subscribe((e) => void done.push(e), { types: ["execution_failed"], graph_id: "guardian" });
    await runtime.start();
    const guardianFailures = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (done.length >= n ? resolve() : setImmediate(check));
        check();
      });
    const failed = await runtime.trigger("api", {}, { agent: "worker" });
    assert.equal((await runtime.waitForCompletion(failed))?.error?.code, "node_failed");
    await guardianFailures(1);
    // A second worker failure is the barrier: the bus delivers in order, so had
    // the guardian's own failure triggered it, that execution would be admitted
    // before the one this failure triggers, and would show in the listing.
    const second = await runtime.trigger("api", {}, { agent: "worker" });
    await runtime.waitForCompletion(second);
    await guardianFailures(2);
    await runtime.bus.drain();
    const runs = await runtime.listExecutions({ agent: "guardian" });
    assert.equal(runs.length, 2, "one guardian run per worker failure, none for its own");
    const seen = await Promise.all(
      runs.map(async (run) => ((await runtime.store.get(run.execution_id))!.input as { event: ForagerEvent }).event),
    );
    assert.deepEqual(seen.map((e) => e.graph_id), ["worker", "worker"]);
    assert.deepEqual(seen.map((e) => e.execution_id).sort(), [failed, second].sort());
    const record = await runtime.store.get(runs[0]!.execution_id);
    assert.match(record!.error!.message, /saw worker fail/);
    await runtime.stop();
  });

  test("ingest records the webhook on disk, queues matching executions, and answers full without recording", async (t) => {
    const dir = await tempDir(t);
    const storage = join(dir, "storage");
    const agent = await functionAgent(
      dir,
      "hooks",
      [
        {
          id: "opened",
          trigger_type: "event",
          max_concurrent: 1,
          overlap: "reject",
          trigger_config: { event_types: ["webhook_received"], filter_stream: "github", when: 'event.data.payload.action == "opened"' },
        },
      ],
      WAIT_FOR_ABORT,
    );
    const runtime = new AgentRuntime({ agent, storagePath: storage });
    await runtime.start();
    const webhook = (action: string) => ({ type: "webhook_received" as const, stream_id: "github", data: { path: "/webhooks/github", payload: { action } } });
    const first = await runtime.ingest(webhook("opened"));
    assert.equal(first.status, "accepted");
    if (first.status !== "accepted") return;
    assert.equal(first.executions.length, 1);
    const log = (await readIngestLog(storage, "github")).trim().split("\n");
    assert.equal(log.length, 1);
    assert.equal(JSON.parse(log[0]!).id, first.event.id);
    const started = await runtime.getExecution(first.executions[0]!);
    assert.ok(started && ["queued", "running"].includes(started.status));

    const unmatched = await runtime.ingest(webhook("closed"));
    assert.deepEqual(unmatched.status === "accepted" && unmatched.executions, []);
    const full = await runtime.ingest(webhook("opened"));
    assert.equal(full.status, "full");
    const after = (await readIngestLog(storage, "github")).trim().split("\n");
    assert.equal(after.length, 2);
    // The webhook event on the bus does not trigger the entry point a second time.
    await runtime.bus.drain();
    const counts = (await runtime.getStats()).streams["hooks/opened"]!.status_counts;
    assert.equal(counts.running + counts.queued, 1);
    await runtime.stop({ graceMs: 0 });
    assert.equal((await runtime.getExecution(first.executions[0]!))?.status, "cancelled");
  });
});

/** Every day file of a source's ingest log, concatenated in day order. */
async function readIngestLog(storage: string, source: string): Promise<string> {
  const { readdir } = await import("node:fs/promises");
  const dir = join(storage, "_events", source);
  const days = (await readdir(dir)).filter((f) => f.endsWith(".jsonl")).sort();
  const parts = await Promise.all(days.map((day) => readFile(join(dir, day), "utf8")));
  return parts.join("");
}
