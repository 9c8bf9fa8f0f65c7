// ExecutionRunner: one execution for the daemon and for `forager run`; here
// the path where it cannot even start (its tools cannot be built).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { EventBus } from "../../src/events/bus.js";
import type { ForagerEvent } from "../../src/events/types.js";
import { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import { ExecutionRunner } from "../../src/runtime/execution-runner.js";
import { MemorySessionStore } from "../../src/storage/memory.js";
import { MemoryStateStore } from "../../src/storage/state.js";
import { silentLogger } from "../../src/logging/index.js";
import { systemClock } from "../../src/util/clock.js";
import { plainAgent } from "./helpers.js";

const noTools = () => {
  throw new Error("the tool server is gone");
};

describe("ExecutionRunner", () => {
  test("in the runtime, an execution whose tools cannot be built ends failed, recorded, with its terminal event", async () => {
    const agent = plainAgent("broken", [{ id: "api", trigger_type: "api" }]);
    const runtime = new AgentRuntime({ agent, tools: noTools });
    const ended: ForagerEvent[] = [];
    runtime.subscribe((event) => void ended.push(event), { types: ["execution_failed"] });
    await runtime.start();
    const id = await runtime.trigger("api", { n: 1 });
    const result = await runtime.waitForCompletion(id, { timeoutMs: 30_000 });
    assert.equal(result?.status, "failed");
    assert.deepEqual(result?.error, { code: "startup_failed", message: "the tool server is gone", node_id: null });
    const stored = await runtime.store.get(id);
    assert.equal(stored?.status, "failed");
    assert.deepEqual(stored?.input, { n: 1 });
    await runtime.bus.drain();
    assert.deepEqual(
      ended.map((e) => [e.execution_id, e.graph_id, e.stream_id, e.data.status]),
      [[id, "broken", "api", "failed"]],
    );
    await runtime.stop();
  });

  test("with nothing recorded yet (forager run), the error goes to the caller and nothing is written", async () => {
    const agent = plainAgent("broken", [{ id: "api", trigger_type: "api" }]);
    const store = new MemorySessionStore();
    const bus = new EventBus();
    const published: ForagerEvent[] = [];
    bus.subscribe((event) => void published.push(event));
    const runner = new ExecutionRunner({ bus, store, state: new MemoryStateStore(), clock: systemClock, logger: silentLogger(), tools: noTools });
    const request = { agent, entryPoint: agent.entry_points[0]!, input: {}, executionId: "exe_1", sessionId: "ses_1" };
    await assert.rejects(runner.run(request, new AbortController().signal), /the tool server is gone/);
    await runner.close((err) => assert.fail(String(err)));
    await bus.drain();
    assert.equal(await store.get("exe_1"), undefined);
    assert.deepEqual(published, []);
  });
});
