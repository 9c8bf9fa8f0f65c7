import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { MemorySessionStore } from "../../src/storage/memory.js";
import { MemoryStateStore } from "../../src/storage/state.js";
import type { ExecutionRecord } from "../../src/result.js";
import type { ForagerEvent } from "../../src/events/types.js";
import { mergeLimits } from "../../src/graph/index.js";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fnNode, makeAgent, ofType, run, tempDir, types, writeModule } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";

const MODULE = `
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
export function setA({ input }) { return { a: (input.x ?? 0) + 1 }; }
export function double({ memory }) { return { b: memory.a * 2 }; }
export function boom() { throw new Error("boom: bad input"); }
export function nothing() { return undefined; }
export function extra() { return { a: 1, surprise: 2 }; }
// Functions run in worker threads: what they saw is written to files, the test's only way to look inside.
export function flaky({ execution }) {
  const file = join(tmpdir(), "forager-flaky-" + execution.id);
  const n = (existsSync(file) ? Number(readFileSync(file, "utf8")) : 0) + 1;
  writeFileSync(file, String(n));
  if (n < 2) throw new Error("flaky attempt " + n);
  rmSync(file);
  return { a: n };
}
export async function slow({ input, signal }) {
  if (input.marker) appendFileSync(input.marker, "started\\n");
  await new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, 30000);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      if (input.marker) appendFileSync(input.marker, "aborted: " + (signal.reason?.message ?? signal.reason) + "\\n");
      reject(signal.reason);
    }, { once: true });
  });
  return { a: 1 };
}
export function count({ memory }) { return { n: (memory.n ?? 0) + 1 }; }
export function bumpState({ state }) { return { "state.count": (state.count ?? 0) + 1 }; }
export function readState({ state }) { return { seen: state.count ?? null }; }
export function mark() { return { marked: true }; }
export function seeMemory({ memory }) { return { keys: Object.keys(memory).sort() }; }
export const notAFunction = 42;
`;

let dir: string;
let cleanup: () => Promise<void>;
before(async () => {
  ({ dir, cleanup } = await tempDir());
  await writeModule(dir, "steps.mjs", MODULE);
});
after(() => cleanup());

function agent(graph: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return makeAgent({ graph, ...extra }, dir);
}

describe("walking the graph", () => {
  test("a linear graph succeeds with its output, path and events in order", async () => {
    const a = agent({
      nodes: [fnNode("first", "steps.mjs", { export: "setA", output_keys: ["a"] }), fnNode("second", "steps.mjs", { export: "double", output_keys: ["b"] })],
      edges: [{ from: "first", to: "second" }],
    });
    const { result, events } = await run(a, { input: { x: 4 } });
    assert.equal(result.status, "completed");
    assert.equal(result.success, true);
    assert.deepEqual(result.output, { a: 5, b: 10 });
    assert.deepEqual(result.path, ["first", "second"]);
    assert.equal(result.steps_executed, 2);
    assert.equal(result.error, null);
    assert.equal(result.schema_version, 1);
    assert.equal(result.agent, "test-agent");
    assert.equal(result.entry_point, "default");
    assert.deepEqual(types(events), [
      "execution_started",
      "node_started",
      "output_key_set",
      "node_completed",
      "edge_traversed",
      "node_started",
      "output_key_set",
      "node_completed",
      "execution_completed",
    ]);
    for (const event of events) {
      assert.equal(event.graph_id, "test-agent");
      assert.equal(event.stream_id, "default");
      assert.equal(event.execution_id, result.execution_id);
      assert.equal(event.session_id, result.session_id);
      assert.match(event.id, /^evt_/);
    }
    assert.equal(events[1]!.node_id, "first");
    assert.deepEqual(ofType(events, "edge_traversed")[0]!.data, { from: "first", to: "second", condition: "on_success", priority: 0 });
    assert.deepEqual(ofType(events, "output_key_set")[1]!.data, { key: "b", value: 10 });
    assert.deepEqual(ofType(events, "node_completed")[0]!.data.outputs, ["a"]);
    assert.equal(ofType(events, "execution_completed")[0]!.data.status, "completed");
  });

  test("a failing node with no on_failure edge fails the execution with its message and node id", async () => {
    const a = agent({
      nodes: [fnNode("explode", "steps.mjs", { export: "boom" }), fnNode("after", "steps.mjs", { export: "mark", output_keys: ["marked"] })],
      edges: [{ from: "explode", to: "after" }],
    });
    const { result, events } = await run(a);
    assert.equal(result.status, "failed");
    assert.equal(result.success, false);
    assert.equal(result.error?.code, "node_failed");
    assert.equal(result.error?.node_id, "explode");
    assert.match(result.error!.message, /boom: bad input/);
    assert.deepEqual(result.path, ["explode"]);
    assert.equal(ofType(events, "node_failed")[0]!.data.error, "boom: bad input");
    assert.equal(ofType(events, "execution_failed")[0]!.data.status, "failed");
  });

  test("an on_failure edge makes the failure part of the path", async () => {
    const a = agent({
      nodes: [
        fnNode("explode", "steps.mjs", { export: "boom" }),
        fnNode("happy", "steps.mjs", { export: "setA", output_keys: ["a"] }),
        fnNode("recover", "steps.mjs", { export: "mark", output_keys: ["marked"] }),
      ],
      edges: [
        { from: "explode", to: "happy" },
        { from: "explode", to: "recover", condition: "on_failure" },
      ],
    });
    const { result, events } = await run(a);
    assert.equal(result.status, "completed");
    assert.deepEqual(result.path, ["explode", "recover"]);
    assert.deepEqual(result.output, { marked: true });
    assert.equal(ofType(events, "edge_traversed")[0]!.data.condition, "on_failure");
  });

  test("`when` picks the edge whose condition holds, higher priority first", async () => {
    const graph = {
      nodes: [
        fnNode("start", "steps.mjs", { export: "setA", output_keys: ["a"] }),
        fnNode("big", "steps.mjs", { export: "mark", output_keys: ["marked"] }),
        fnNode("small", "steps.mjs", { export: "count", output_keys: ["n"] }),
        fnNode("fallback", "steps.mjs", { export: "double", output_keys: ["b"] }),
      ],
      edges: [
        { from: "start", to: "fallback", condition: "always" },
        { from: "start", to: "small", when: "memory.a < 10", priority: 5 },
        { from: "start", to: "big", when: "memory.a >= 10", priority: 5 },
      ],
    };
    assert.deepEqual((await run(agent(graph), { input: { x: 20 } })).result.path, ["start", "big"]);
    assert.deepEqual((await run(agent(graph), { input: { x: 1 } })).result.path, ["start", "small"]);
    // Neither `when` holds: the lower-priority edge is taken.
    const none = agent({ ...graph, edges: [graph.edges[0], { from: "start", to: "big", when: "memory.a == 0", priority: 9 }] });
    assert.deepEqual((await run(none, { input: { x: 3 } })).result.path, ["start", "fallback"]);
  });

  test("equal priorities keep file order", async () => {
    const a = agent({
      nodes: [
        fnNode("start", "steps.mjs", { export: "setA", output_keys: ["a"] }),
        fnNode("one", "steps.mjs", { export: "mark", output_keys: ["marked"] }),
        fnNode("two", "steps.mjs", { export: "count", output_keys: ["n"] }),
      ],
      edges: [
        { from: "start", to: "two" },
        { from: "start", to: "one" },
      ],
    });
    assert.deepEqual((await run(a)).result.path, ["start", "two"]);
  });

  test("a `when` that cannot be evaluated fails the execution naming the edge and expression", async () => {
    const a = agent({
      nodes: [fnNode("start", "steps.mjs", { export: "setA", output_keys: ["a"] }), fnNode("next", "steps.mjs", { export: "mark", output_keys: ["marked"] })],
      edges: [{ from: "start", to: "next", when: "memory.nope.deeper == 1" }],
    });
    const { result } = await run(a);
    assert.equal(result.status, "failed");
    assert.equal(result.error?.code, "condition_error");
    assert.match(result.error!.message, /start -> next/);
    assert.match(result.error!.message, /memory\.nope\.deeper == 1/);
  });

  test("max_steps exceeded is a failure, never success", async () => {
    const a = agent({
      max_steps: 5,
      nodes: [fnNode("loop", "steps.mjs", { export: "count", output_keys: ["n"] })],
      edges: [{ from: "loop", to: "loop" }],
    });
    const { result } = await run(a);
    assert.equal(result.status, "failed");
    assert.equal(result.success, false);
    assert.equal(result.error?.code, "max_steps_exceeded");
    assert.equal(result.steps_executed, 5);
    assert.equal(result.output.n, 5);
    assert.match(result.error!.message, /max_steps \(5\)/);
  });

  test("a node visited more often than max_visits fails, and on_failure can route it", async () => {
    const a = agent({
      nodes: [
        fnNode("loop", "steps.mjs", { export: "count", output_keys: ["n"], max_visits: 3 }),
        fnNode("done", "steps.mjs", { export: "mark", output_keys: ["marked"] }),
      ],
      edges: [
        { from: "loop", to: "loop" },
        { from: "loop", to: "done", condition: "on_failure" },
      ],
    });
    const { result, events } = await run(a);
    assert.equal(result.status, "completed");
    assert.deepEqual(result.path, ["loop", "loop", "loop", "loop", "done"]);
    assert.equal(result.output.n, 3);
    assert.match(String(ofType(events, "node_failed")[0]!.data.error), /max_visits \(3\)/);
  });

  test("the execution scope: input_keys narrow memory, execution ids are visible", async () => {
    const a = agent({
      nodes: [fnNode("look", "steps.mjs", { export: "seeMemory", output_keys: ["keys"], input_keys: ["x", "missing"] })],
    });
    const { result } = await run(a, { input: { x: 1, y: 2 } });
    assert.deepEqual(result.output.keys, ["x"]);
  });
});

describe("node failures", () => {
  test("a retry that succeeds on the second try emits node_retry", async () => {
    const a = agent({ nodes: [fnNode("flaky", "steps.mjs", { export: "flaky", output_keys: ["a"], max_retries: 2, retry_backoff: 0.01 })] });
    const { result, events } = await run(a);
    assert.equal(result.status, "completed");
    assert.equal(result.output.a, 2);
    const retries = ofType(events, "node_retry");
    assert.equal(retries.length, 1);
    assert.equal(retries[0]!.data.attempt, 2);
    assert.equal(retries[0]!.data.error, "flaky attempt 1");
    assert.equal(typeof retries[0]!.data.delay_ms, "number");
    assert.equal(ofType(events, "node_failed").length, 0);
    assert.equal(ofType(events, "node_completed")[0]!.data.attempts, 2);
  });

  test("a node timeout fails the node, aborts its signal, and is retried", async () => {
    const a = agent({ nodes: [fnNode("slow", "steps.mjs", { export: "slow", output_keys: ["a"], timeout_seconds: 0.05, max_retries: 1, retry_backoff: 0.01 })] });
    const marker = join(dir, "timeout-retry.log");
    const { result, events } = await run(a, { input: { marker } });
    assert.equal(result.status, "failed");
    assert.equal(result.error?.code, "node_failed");
    assert.match(result.error!.message, /timed out after 0\.05s/);
    assert.equal(ofType(events, "node_retry").length, 1);
    // An attempt that started saw its abort before the next attempt began (one whose worker was
    // still starting when 50 ms passed never starts the function at all).
    const seen = existsSync(marker) ? await readFile(marker, "utf8") : "";
    assert.match(seen, /^(started\naborted: timed out after 0\.05s\n){0,2}$/);
  });

  test("a function that throws fails the node with its message", async () => {
    const { result } = await run(agent({ nodes: [fnNode("explode", "steps.mjs", { export: "boom" })] }));
    assert.equal(result.error?.message, 'node "explode" failed: boom: bad input');
  });

  test("a missing module file or export is a clear error", async () => {
    const missingFile = await run(agent({ nodes: [fnNode("f", "nope.mjs")] }));
    assert.equal(missingFile.result.status, "failed");
    assert.match(missingFile.result.error!.message, /module "nope\.mjs" not found/);
    const missingExport = await run(agent({ nodes: [fnNode("f", "steps.mjs", { export: "nothere" })] }));
    assert.match(missingExport.result.error!.message, /no function export "nothere".*setA/);
    const notFunction = await run(agent({ nodes: [fnNode("f", "steps.mjs", { export: "notAFunction" })] }));
    assert.match(notFunction.result.error!.message, /no function export "notAFunction"/);
  });

  test("a node that finishes without a required output key fails with output_missing", async () => {
    const { result } = await run(agent({ nodes: [fnNode("f", "steps.mjs", { export: "nothing", output_keys: ["a"] })] }));
    assert.equal(result.status, "failed");
    assert.equal(result.error?.code, "output_missing");
    assert.match(result.error!.message, /output key a/);
    const nullable = await run(agent({ nodes: [fnNode("f", "steps.mjs", { export: "nothing", output_keys: ["a"], nullable_output_keys: ["a"] })] }));
    assert.equal(nullable.result.status, "completed");
  });

  test("writing an undeclared output key fails the node", async () => {
    const { result } = await run(agent({ nodes: [fnNode("f", "steps.mjs", { export: "extra", output_keys: ["a"] })] }));
    assert.equal(result.status, "failed");
    assert.match(result.error!.message, /"surprise", which is not in its output_keys/);
  });

  test("a declared graph output key still missing at the end fails the execution", async () => {
    const nodes = [fnNode("f", "steps.mjs", { export: "setA", output_keys: ["a"] })];
    const missing = await run(agent({ nodes, output_keys: ["a", "summary"] }));
    assert.equal(missing.result.status, "failed");
    assert.equal(missing.result.error?.code, "output_missing");
    assert.match(missing.result.error!.message, /summary/);
    const nullable = await run(agent({ nodes, output_keys: ["a", "summary"], nullable_output_keys: ["summary"] }));
    assert.equal(nullable.result.status, "completed");
    assert.deepEqual(nullable.result.output, { a: 1 });
  });
});

describe("shared state", () => {
  test("state.NAME output keys write shared state that later nodes and executions read", async () => {
    const state = new MemoryStateStore();
    const a = agent({
      nodes: [
        fnNode("bump", "steps.mjs", { export: "bumpState", output_keys: ["state.count"] }),
        fnNode("read", "steps.mjs", { export: "readState", output_keys: ["seen"] }),
      ],
      edges: [{ from: "bump", to: "read" }],
    });
    const first = await run(a, { state });
    assert.equal(first.result.output.seen, 1);
    const second = await run(a, { state });
    assert.equal(second.result.output.seen, 2);
    assert.deepEqual(await state.read("test-agent"), { count: 2 });
    assert.deepEqual(ofType(second.events, "state_changed")[0]!.data, { key: "count", value: 2 });
  });

  test("an isolated entry point neither sees nor writes state", async () => {
    const state = new MemoryStateStore();
    await state.write("test-agent", { count: 7 });
    const a = agent(
      {
        nodes: [
          fnNode("read", "steps.mjs", { export: "readState", output_keys: ["seen"], nullable_output_keys: ["seen"] }),
          fnNode("bump", "steps.mjs", { export: "bumpState", output_keys: ["state.count"] }),
        ],
        edges: [{ from: "read", to: "bump" }],
      },
      { entry_points: [{ id: "iso", trigger_type: "manual", isolation_level: "isolated" }] },
    );
    const { result } = await run(a, { state });
    assert.equal(result.status, "failed");
    assert.equal(result.error?.node_id, "bump");
    assert.match(result.error!.message, /isolation_level: isolated/);
    assert.deepEqual(result.path, ["read", "bump"]);
    assert.equal(result.output.seen, null);
    assert.deepEqual(await state.read("test-agent"), { count: 7 });
  });
});

describe("execution limits and cancellation", () => {
  test("the execution timeout ends it as timed_out and stops the running node", async () => {
    const a = agent({ nodes: [fnNode("slow", "steps.mjs", { export: "slow", output_keys: ["a"] })] });
    const marker = join(dir, "exec-timeout.log");
    const { result, events } = await run(a, { input: { marker }, limits: { timeout_seconds: 0.05 } });
    assert.equal(result.status, "timed_out");
    assert.equal(result.success, false);
    assert.equal(result.error?.code, "timed_out");
    assert.equal(result.error?.node_id, "slow");
    const final = ofType(events, "execution_failed")[0]!;
    assert.equal(final.data.status, "timed_out");
    assert.match(await readFile(marker, "utf8"), /^started\naborted: /);
  });

  test("cancelling mid-node stops the node and reports the reason", async () => {
    const a = agent({ nodes: [fnNode("slow", "steps.mjs", { export: "slow", output_keys: ["a"] })] });
    const marker = join(dir, "cancel.log");
    const controller = new AbortController();
    const pending = run(a, { input: { marker }, signal: controller.signal });
    await waitFor("the marker file", () => existsSync(marker));
    controller.abort("SIGINT");
    const { result, events } = await pending;
    assert.equal(result.status, "cancelled");
    assert.deepEqual(result.error, { code: "cancelled", message: "execution cancelled (SIGINT)", node_id: "slow", reason: "SIGINT" });
    assert.equal(await readFile(marker, "utf8"), "started\naborted: execution cancelled (SIGINT)\n");
    assert.equal(ofType(events, "execution_cancelled").length, 1);
    assert.equal(ofType(events, "node_completed").length, 0);
  });

  test("a cancel that lands while a node reads the shared state stops the execution before the node runs", async () => {
    // The state read is held until the cancel has fired: the node's own abort listener is not
    // registered yet, so only a check after the read can see it.
    const state = new MemoryStateStore();
    let releaseRead!: () => void;
    let reading!: () => void;
    const readStarted = new Promise<void>((resolve) => (reading = resolve));
    const readHeld = new Promise<void>((resolve) => (releaseRead = resolve));
    const read = state.read.bind(state);
    state.read = async (agentName: string) => {
      reading();
      await readHeld;
      return read(agentName);
    };
    const marker = join(dir, "cancel-during-read.log");
    const controller = new AbortController();
    const pending = run(agent({ nodes: [fnNode("slow", "steps.mjs", { export: "slow", output_keys: ["a"] })] }), { input: { marker }, signal: controller.signal, state });
    await readStarted;
    controller.abort("cancel_previous");
    releaseRead();
    const { result, events } = await pending;
    assert.equal(result.status, "cancelled");
    assert.equal(result.error?.reason, "cancel_previous");
    assert.equal(ofType(events, "node_completed").length, 0);
    assert.equal(existsSync(marker), false, "the node never started");
  });

  test("an Error as the cancel reason gives its message", async () => {
    const controller = new AbortController();
    controller.abort(new Error("shutdown"));
    const { result } = await run(agent({ nodes: [fnNode("f", "steps.mjs", { export: "setA", output_keys: ["a"] })] }), { signal: controller.signal });
    assert.equal(result.status, "cancelled");
    assert.equal(result.error?.reason, "shutdown");
    assert.equal(result.error?.node_id, null);
    assert.deepEqual(result.path, []);
  });

  test("mergeLimits keeps the stricter value of each field", () => {
    assert.deepEqual(mergeLimits({ timeout_seconds: 60, max_llm_calls: 10 }, undefined, { timeout_seconds: 30, max_cost_usd: 1 }, { max_llm_calls: 20 }), {
      timeout_seconds: 30,
      max_llm_calls: 10,
      max_cost_usd: 1,
    });
    assert.deepEqual(mergeLimits(), {});
  });
});

describe("storage", () => {
  class RecordingStore extends MemorySessionStore {
    saves: ExecutionRecord[] = [];
    override async save(record: ExecutionRecord): Promise<void> {
      this.saves.push(structuredClone(record));
      return super.save(record);
    }
  }

  test("the record is saved running at the start and final at the end, with the event log", async () => {
    const store = new RecordingStore();
    const a = agent({ nodes: [fnNode("f", "steps.mjs", { export: "setA", output_keys: ["a"] })] });
    const { result, events } = await run(a, { store, input: { x: 1 }, idempotencyKey: "k1", queuedAt: "2026-01-01T00:00:00.000Z" });
    assert.equal(store.saves.length, 2);
    const [first, last] = store.saves;
    assert.equal(first!.status, "running");
    assert.deepEqual(first!.input, { x: 1 });
    assert.equal(first!.queued_at, "2026-01-01T00:00:00.000Z");
    assert.equal(first!.finished_at, null);
    assert.equal(last!.status, "completed");
    assert.deepEqual(last!.output, { a: 2 });
    assert.deepEqual(last!.path, ["f"]);
    assert.equal(last!.idempotency_key, "k1");
    assert.equal(typeof last!.duration_ms, "number");
    assert.equal("input" in result, false);
    const logged = await store.readEvents("test-agent", result.session_id, result.execution_id);
    assert.deepEqual(
      logged.map((e: ForagerEvent) => e.id),
      events.map((e) => e.id),
    );
  });

  test("a failing event log write fails the execution with storage_error instead of crashing", async () => {
    class BrokenLog extends MemorySessionStore {
      override async appendEvents(): Promise<void> {
        throw new Error("disk full");
      }
    }
    const store = new BrokenLog();
    const a = agent({
      nodes: [fnNode("f", "steps.mjs", { export: "setA", output_keys: ["a"] }), fnNode("g", "steps.mjs", { export: "double", output_keys: ["b"] })],
      edges: [{ from: "f", to: "g" }],
    });
    const { result } = await run(a, { store });
    assert.equal(result.status, "failed");
    assert.equal(result.error?.code, "storage_error");
    assert.match(result.error!.message, /disk full/);
    assert.equal((await store.get(result.execution_id))?.status, "failed");
  });

  test("a failing final save: the final event says failed, never completed", async () => {
    class BrokenFinalSave extends MemorySessionStore {
      override async save(record: ExecutionRecord): Promise<void> {
        if (record.status !== "running") throw new Error("no space left on device");
        return super.save(record);
      }
    }
    const { result, events } = await run(agent({ nodes: [fnNode("f", "steps.mjs", { export: "setA", output_keys: ["a"] })] }), { store: new BrokenFinalSave() });
    assert.equal(result.status, "failed");
    assert.equal(result.error?.code, "storage_error");
    const finals = events.filter((e) => ["execution_completed", "execution_failed"].includes(e.type));
    assert.deepEqual(finals.map((e) => [e.type, e.data.status]), [["execution_failed", "failed"]]);
  });

  test("a failing first save fails the execution before any node runs", async () => {
    class BrokenSave extends MemorySessionStore {
      override async save(): Promise<void> {
        throw new Error("read-only file system");
      }
    }
    const { result } = await run(agent({ nodes: [fnNode("f", "steps.mjs", { export: "setA", output_keys: ["a"] })] }), { store: new BrokenSave() });
    assert.equal(result.status, "failed");
    assert.equal(result.error?.code, "storage_error");
    assert.deepEqual(result.path, []);
  });
});

