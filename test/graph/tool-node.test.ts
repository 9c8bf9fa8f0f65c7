import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ToolError } from "../../src/tools/types.js";
import { FakeResolver, FakeTool, makeAgent, ofType, run } from "./helpers.js";

function toolAgent(nodes: unknown[], edges: unknown[] = [], extra: Record<string, unknown> = {}) {
  return makeAgent({ graph: { nodes, edges }, ...extra });
}

describe("tool nodes", () => {
  test("arguments are rendered from the scope and the result goes to the single output key", async () => {
    const lookup = new FakeTool("lookup", (args) => ({ found: args.q, n: args.n }));
    const a = toolAgent([{ id: "find", type: "tool", tool: "lookup", args: { q: "issue {{ input.id }}", n: "{{ input.id + 1 }}" }, output_keys: ["hit"] }]);
    const { result, events } = await run(a, { input: { id: 41 }, tools: new FakeResolver([lookup]) });
    assert.equal(result.status, "completed");
    assert.deepEqual(lookup.calls, [{ q: "issue 41", n: 42 }]);
    assert.deepEqual(result.output, { hit: { found: "issue 41", n: 42 } });
    assert.equal(result.usage.tool_calls, 1);
    const started = ofType(events, "tool_call_started")[0]!;
    assert.deepEqual(started.data, { tool: "lookup", args: { q: "issue 41", n: 42 } });
    const completed = ofType(events, "tool_call_completed")[0]!;
    assert.equal(completed.data.is_error, false);
    assert.deepEqual(completed.data.result, { found: "issue 41", n: 42 });
    assert.equal(typeof completed.data.duration_ms, "number");
  });

  test("with several output keys each key comes from the result object", async () => {
    const tool = new FakeTool("status", () => ({ code: 200, body: "ok", ignored: true }));
    const a = toolAgent([{ id: "s", type: "tool", tool: "status", output_keys: ["code", "body"] }]);
    const { result } = await run(a, { tools: new FakeResolver([tool]) });
    assert.deepEqual(result.output, { code: 200, body: "ok" });
  });

  test("a tool error fails the node, so retries and on_failure edges apply", async () => {
    let calls = 0;
    const tool = new FakeTool("fragile", () => {
      calls++;
      throw new ToolError("fragile", "exit code 2: no such file");
    });
    const a = toolAgent(
      [
        { id: "try", type: "tool", tool: "fragile", output_keys: ["out"], max_retries: 1, retry_backoff: 0.01 },
        { id: "recover", type: "tool", tool: "fallback", output_keys: ["out"] },
      ],
      [{ from: "try", to: "recover", condition: "on_failure" }],
    );
    const fallback = new FakeTool("fallback", () => "fallback value");
    const { result, events } = await run(a, { tools: new FakeResolver([tool, fallback]) });
    assert.equal(calls, 2);
    assert.equal(result.status, "completed");
    assert.deepEqual(result.output, { out: "fallback value" });
    assert.match(String(ofType(events, "node_failed")[0]!.data.error), /tool "fragile" failed: exit code 2: no such file/);
    assert.equal(ofType(events, "tool_call_completed")[0]!.data.error, "exit code 2: no such file");
  });

  test("an unknown tool fails the node clearly", async () => {
    const a = toolAgent([{ id: "t", type: "tool", tool: "missing", output_keys: ["x"] }]);
    const { result } = await run(a);
    assert.equal(result.status, "failed");
    assert.match(result.error!.message, /tool "missing" is not available/);
  });

  test("cancelling while a tool runs aborts the tool's signal", async () => {
    const controller = new AbortController();
    const slow = new FakeTool(
      "slow",
      (_args, ctx) =>
        new Promise((_resolve, reject) => {
          // Never resolves on its own: only the abort ends it.
          ctx.signal.addEventListener("abort", () => reject(new Error("aborted by signal")), { once: true });
          setImmediate(() => controller.abort("user"));
        }),
    );
    const a = toolAgent([{ id: "t", type: "tool", tool: "slow", output_keys: ["x"] }]);
    const { result, events } = await run(a, { tools: new FakeResolver([slow]), signal: controller.signal });
    assert.equal(result.status, "cancelled");
    assert.equal(result.error?.reason, "user");
    assert.equal(slow.signals[0]!.aborted, true);
    assert.equal(ofType(events, "tool_call_completed")[0]!.data.is_error, true);
  });

  test("max_tool_calls stops the execution before a call that would exceed it", async () => {
    const tool = new FakeTool("t", () => "ok");
    const a = toolAgent(
      [
        { id: "one", type: "tool", tool: "t", output_keys: ["a"] },
        { id: "two", type: "tool", tool: "t", output_keys: ["b"] },
      ],
      [{ from: "one", to: "two" }],
    );
    const { result, events } = await run(a, { tools: new FakeResolver([tool]), limits: { max_tool_calls: 1 } });
    assert.equal(result.status, "budget_exceeded");
    assert.equal(result.error?.code, "budget_exceeded");
    assert.equal(result.error?.node_id, "two");
    assert.match(result.error!.message, /max_tool_calls reached: 1 of 1/);
    assert.equal(tool.calls.length, 1);
    assert.equal(result.usage.tool_calls, 1);
    const breach = ofType(events, "budget_exceeded")[0]!;
    assert.equal(breach.data.limit, "max_tool_calls");
    assert.equal(ofType(events, "execution_failed")[0]!.data.status, "budget_exceeded");
  });

  test("the emit tool context publishes with the execution's ids", async () => {
    const emit = new FakeTool("notify", (_args, ctx) => ({ event_id: ctx.publish({ type: "custom", data: { hello: 1 } }).id }));
    const a = toolAgent([{ id: "n", type: "tool", tool: "notify", output_keys: ["sent"] }]);
    const { result, events } = await run(a, { tools: new FakeResolver([emit]) });
    const custom = ofType(events, "custom")[0]!;
    assert.equal(custom.execution_id, result.execution_id);
    assert.equal(custom.node_id, "n");
    assert.deepEqual(result.output.sent, { event_id: custom.id });
  });
});
