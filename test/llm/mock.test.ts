import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createLlmProvider, LlmError, type LlmProvider } from "../../src/llm/index.js";
import type { LlmConfig, MockResponse } from "../../src/config/schema.js";
import { FakeClock } from "../../src/util/clock.js";
import { never, userRequest } from "./helpers.js";

function mock(responses: Record<string, Partial<MockResponse>[]>, clock?: FakeClock): Promise<LlmProvider> {
  const config: LlmConfig = {
    provider: "mock",
    timeout_seconds: 60,
    max_retries: 3,
    responses: responses as Record<string, MockResponse[]>,
  };
  return createLlmProvider(config, { clock });
}

function ask(llm: LlmProvider, node: string, execution = "exec_1", turn = 1) {
  return llm.complete(userRequest("hello there", { node_id: node, execution_id: execution, turn }), never());
}

describe("mock provider", () => {
  test("a node's responses come in order, then the shared '*' list", async () => {
    const llm = await mock({
      classify: [{ text: "first" }, { text: "second" }],
      "*": [{ text: "shared" }],
    });
    assert.equal((await ask(llm, "classify")).text, "first");
    assert.equal((await ask(llm, "classify")).text, "second");
    assert.equal((await ask(llm, "classify")).text, "shared");
    assert.equal((await ask(llm, "other")).text, "shared");
  });

  test("tool calls get generated ids and pass their names through as written", async () => {
    const llm = await mock({
      classify: [
        {
          tool_calls: [
            { name: "set_output", arguments: { key: "severity", value: "high" } },
            { name: "github.create_issue", arguments: {} },
          ],
        },
        { tool_calls: [{ name: "set_output", arguments: { key: "done", value: true } }] },
      ],
    });
    const first = await ask(llm, "classify");
    assert.deepEqual(first.tool_calls, [
      { id: "call_1", name: "set_output", arguments: { key: "severity", value: "high" } },
      { id: "call_2", name: "github.create_issue", arguments: {} },
    ]);
    assert.equal(first.finish_reason, "tool_calls");
    assert.equal((await ask(llm, "classify")).tool_calls[0]!.id, "call_3");
  });

  test("concurrent executions each get the script from the start", async () => {
    const llm = await mock({ classify: [{ text: "one" }, { text: "two" }] });
    assert.equal((await ask(llm, "classify", "exec_a")).text, "one");
    assert.equal((await ask(llm, "classify", "exec_b")).text, "one");
    assert.equal((await ask(llm, "classify", "exec_a")).text, "two");
    assert.equal((await ask(llm, "classify", "exec_b")).text, "two");
  });

  test("running out fails with a message saying how to fix it", async () => {
    const llm = await mock({ summarize: [{ text: "only one" }], "*": [{ text: "shared" }] });
    await ask(llm, "summarize");
    await ask(llm, "summarize");
    await assert.rejects(ask(llm, "summarize"), (err: unknown) => {
      assert.ok(err instanceof LlmError);
      assert.equal(err.message, "mock LLM has no response left for node summarize (it had 2; add more under llm.responses.summarize)");
      return true;
    });
  });

  test("usage is taken as given, or estimated at about four characters a token", async () => {
    const llm = await mock({ n: [{ text: "x", usage: { input_tokens: 500, output_tokens: 20 } }, { text: "12345678" }] });
    assert.deepEqual((await ask(llm, "n")).usage, { input_tokens: 500, output_tokens: 20 });
    // userRequest sends "You summarise text." (19 chars) + "hello there" (11 chars) = 30 chars.
    assert.deepEqual((await ask(llm, "n")).usage, { input_tokens: 8, output_tokens: 2 });
  });

  test("an error response fails the call with that message", async () => {
    const llm = await mock({ n: [{ error: "model overloaded" }, { text: "fine" }] });
    await assert.rejects(ask(llm, "n"), (err: unknown) => err instanceof LlmError && err.message === "model overloaded");
    assert.equal((await ask(llm, "n")).text, "fine");
  });

  test("a delay waits on the clock and can be cut short by the signal", async () => {
    const clock = new FakeClock(0);
    const llm = await mock({ n: [{ text: "slow", delay: 30 }, { text: "slower", delay: 30 }] }, clock);

    let settled = false;
    const waiting = ask(llm, "n").then((r) => {
      settled = true;
      return r;
    });
    await clock.advance(29_000);
    assert.equal(settled, false);
    await clock.advance(1_000);
    assert.equal((await waiting).text, "slow");

    const controller = new AbortController();
    const cancelled = llm.complete(userRequest("x", { node_id: "n", execution_id: "exec_1" }), controller.signal);
    await clock.advance(1_000);
    controller.abort(new Error("execution cancelled"));
    await assert.rejects(cancelled, /execution cancelled/);
    assert.equal(clock.pendingCount, 0);
  });
});
