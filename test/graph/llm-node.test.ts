import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { LlmError, type LlmResponse } from "../../src/llm/types.js";
import { ToolError } from "../../src/tools/types.js";
import { FakeResolver, FakeTool, makeAgent, ofType, run, ScriptedLlm, setOutput, type Turn } from "./helpers.js";

function llmAgent(node: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return makeAgent({
    llm: { provider: "mock", model: "test-model", temperature: 0, ...((extra.llm as object) ?? {}) },
    graph: { nodes: [{ id: "think", type: "llm", output_keys: ["answer"], ...node }] },
    ...Object.fromEntries(Object.entries(extra).filter(([key]) => key !== "llm")),
  });
}

describe("llm nodes", () => {
  test("set_output finishes the node; prompts are rendered and tools offered", async () => {
    const search = new FakeTool("search", (args) => ({ hits: [`result for ${args.q}`] }));
    const llm = new ScriptedLlm([
      { text: "searching", tool_calls: [{ id: "c1", name: "search", arguments: { q: "forager" } }] },
      { tool_calls: [setOutput("answer", "forager is a runner")] },
    ]);
    const a = llmAgent({ system_prompt: "You help with {{ input.topic }}.", prompt: "Tell me about {{ input.topic }}", tools: ["search"] });
    const { result, events } = await run(a, { llm, input: { topic: "forager" }, tools: new FakeResolver([search]) });
    assert.equal(result.status, "completed");
    assert.deepEqual(result.output, { answer: "forager is a runner" });
    assert.equal(result.usage.llm_calls, 2);
    assert.equal(result.usage.tool_calls, 1);
    assert.equal(result.usage.input_tokens, 20);
    const first = llm.requests[0]!;
    assert.deepEqual(first.messages, [
      { role: "system", content: "You help with forager." },
      { role: "user", content: "Tell me about forager" },
    ]);
    assert.equal(first.model, "test-model");
    assert.equal(first.temperature, 0);
    assert.equal(first.node_id, "think");
    assert.equal(first.turn, 1);
    assert.deepEqual(
      first.tools.map((t) => t.name),
      ["search", "set_output"],
    );
    const setOutputSchema = first.tools[1]!.input_schema as { properties: { key: { enum: string[] } } };
    assert.deepEqual(setOutputSchema.properties.key.enum, ["answer"]);
    const toolMessage = llm.requests[1]!.messages.at(-1)!;
    assert.deepEqual(toolMessage, { role: "tool", tool_call_id: "c1", name: "search", content: '{"hits":["result for forager"]}' });
    const turns = ofType(events, "llm_turn_complete");
    assert.equal(turns.length, 2);
    assert.deepEqual(turns[0]!.data.tool_calls, ["search"]);
    assert.deepEqual(turns[0]!.data.usage, { input_tokens: 10, output_tokens: 5 });
    assert.equal(turns[0]!.data.text, "searching");
  });

  test("without a prompt the user message holds the description and readable memory", async () => {
    const llm = new ScriptedLlm([{ tool_calls: [setOutput("answer", 1)] }]);
    const a = llmAgent({ description: "Classify the issue", input_keys: ["title"] });
    await run(a, { llm, input: { title: "crash on start", secret_other: "x" } });
    const user = llm.requests[0]!.messages[0]!;
    assert.equal(user.role, "user");
    assert.match(user.content, /Classify the issue/);
    assert.match(user.content, /crash on start/);
    assert.doesNotMatch(user.content, /secret_other/);
    assert.match(user.content, /set_output.*answer/);
  });

  test("one text-only turn gets a reminder, then the model may still succeed", async () => {
    const llm = new ScriptedLlm([{ text: "The answer is 4." }, { tool_calls: [setOutput("answer", 4)] }]);
    const { result } = await run(llmAgent({}), { llm });
    assert.equal(result.status, "completed");
    assert.equal(result.output.answer, 4);
    const reminder = llm.requests[1]!.messages.at(-1)!;
    assert.equal(reminder.role, "user");
    assert.match(reminder.content, /set_output.*answer/);
  });

  test("a second text-only turn fails the node instead of hanging", async () => {
    const llm = new ScriptedLlm([{ text: "It is 4." }, { text: "Still 4." }, { tool_calls: [setOutput("answer", 4)] }]);
    const { result } = await run(llmAgent({}), { llm });
    assert.equal(result.status, "failed");
    assert.equal(result.error?.code, "output_missing");
    assert.match(result.error!.message, /the model answered without calling set_output twice; missing: answer/);
    assert.equal(llm.calls, 2);
  });

  test("text_output: the final text becomes the single output key", async () => {
    const llm = new ScriptedLlm([{ text: "A short summary." }]);
    const { result } = await run(llmAgent({ output_keys: ["summary"], text_output: true }), { llm });
    assert.equal(result.status, "completed");
    assert.deepEqual(result.output, { summary: "A short summary." });
  });

  test("a tool error goes back to the model, which recovers", async () => {
    let attempt = 0;
    const flaky = new FakeTool("files.read_file", (args) => {
      attempt++;
      if (attempt === 1) throw new ToolError("files.read_file", `ENOENT: ${String(args.path)}`);
      return "file content";
    });
    const llm = new ScriptedLlm([
      { tool_calls: [{ id: "a", name: "files__read_file", arguments: { path: "/nope" } }] },
      { tool_calls: [{ id: "b", name: "files.read_file", arguments: { path: "/yes" } }] },
      { tool_calls: [setOutput("answer", "file content")] },
    ]);
    const { result, events } = await run(llmAgent({ tools: ["files.read_file"] }), { llm, tools: new FakeResolver([flaky]) });
    assert.equal(result.status, "completed");
    const errorMessage = llm.requests[1]!.messages.at(-1)!;
    assert.deepEqual(errorMessage, { role: "tool", tool_call_id: "a", name: "files__read_file", content: "error: ENOENT: /nope", is_error: true });
    assert.equal(llm.requests[2]!.messages.at(-1)!.content, "file content");
    assert.equal(ofType(events, "tool_call_completed")[0]!.data.is_error, true);
    assert.equal(result.usage.tool_calls, 2);
  });

  test("set_output with an unknown key is an error for the model, not a write", async () => {
    const llm = new ScriptedLlm([{ tool_calls: [setOutput("answr", 1)] }, { tool_calls: [setOutput("answer", 2)] }]);
    const { result } = await run(llmAgent({}), { llm });
    assert.equal(result.status, "completed");
    assert.deepEqual(result.output, { answer: 2 });
    const reply = llm.requests[1]!.messages.at(-1)!;
    assert.match(reply.content, /unknown key "answr".*answer/);
  });

  test("three identical tool-call turns are a stall", async () => {
    const tool = new FakeTool("ping", () => "pong");
    const same = { tool_calls: [{ id: "x", name: "ping", arguments: { n: 1 } }] };
    const llm = new ScriptedLlm([same, same, same, same]);
    const { result, events } = await run(llmAgent({ tools: ["ping"] }), { llm, tools: new FakeResolver([tool]) });
    assert.equal(result.status, "failed");
    assert.equal(result.error?.code, "node_stalled");
    assert.equal(llm.calls, 3);
    assert.equal(tool.calls.length, 2);
    const stalled = ofType(events, "node_stalled");
    assert.equal(stalled.length, 1);
    assert.equal(stalled[0]!.data.reason, "repeated_tool_calls");
  });

  test("three near-identical replies are a stall even when the arguments vary", async () => {
    const tool = new FakeTool("ping", () => "pong");
    const turn = (text: string, n: number): Turn => ({ text, tool_calls: [{ id: `c${n}`, name: "ping", arguments: { n } }] });
    const llm = new ScriptedLlm([turn("Let me check that again.", 1), turn("let me check  that again", 2), turn("Let me check that again!", 3)]);
    const { result, events } = await run(llmAgent({ tools: ["ping"] }), { llm, tools: new FakeResolver([tool]) });
    assert.equal(result.error?.code, "node_stalled");
    assert.equal(ofType(events, "node_stalled")[0]!.data.reason, "repeated_text");
  });

  test("max_iterations reached fails the node naming it", async () => {
    const tool = new FakeTool("ping", () => "pong");
    const llm = new ScriptedLlm([1, 2, 3, 4].map((n) => ({ tool_calls: [{ id: `c${n}`, name: "ping", arguments: { n } }] })));
    const { result } = await run(llmAgent({ tools: ["ping"], max_iterations: 3 }), { llm, tools: new FakeResolver([tool]) });
    assert.equal(result.status, "failed");
    assert.match(result.error!.message, /max_iterations \(3\).*missing output keys: answer/);
    assert.equal(llm.calls, 3);
  });

  test("a provider error fails the node with the provider's message", async () => {
    const llm = new ScriptedLlm([
      () => {
        throw new LlmError("429 rate limited: slow down", { status: 429 });
      },
    ]);
    const { result } = await run(llmAgent({}), { llm });
    assert.equal(result.status, "failed");
    assert.match(result.error!.message, /429 rate limited: slow down/);
  });

  test("a graph with llm nodes and no provider fails clearly", async () => {
    const { result } = await run(llmAgent({}));
    assert.equal(result.status, "failed");
    assert.equal(result.error?.code, "llm_unavailable");
    assert.match(result.error!.message, /no LLM provider/);
  });

  test("cancelling during an LLM call aborts the call", async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const llm = new ScriptedLlm([
      (_request, signal) =>
        new Promise<LlmResponse>((_resolve, reject) => {
          seen = signal;
          signal.addEventListener("abort", () => reject(new Error("request aborted")), { once: true });
          setImmediate(() => controller.abort("SIGTERM"));
        }),
    ]);
    const { result } = await run(llmAgent({}), { llm, signal: controller.signal });
    assert.equal(result.status, "cancelled");
    assert.equal(result.error?.reason, "SIGTERM");
    assert.equal(seen?.aborted, true);
  });
});

describe("llm budgets", () => {
  const endless = () => new ScriptedLlm(Array.from({ length: 10 }, (_, n) => ({ text: `step ${n}`, tool_calls: [{ id: `c${n}`, name: "ping", arguments: { n } }] })));
  const ping = () => new FakeResolver([new FakeTool("ping", () => "pong")]);

  test("max_llm_calls stops before the call that would exceed it", async () => {
    const llm = endless();
    const { result, events } = await run(llmAgent({ tools: ["ping"] }), { llm, tools: ping(), limits: { max_llm_calls: 2 } });
    assert.equal(result.status, "budget_exceeded");
    assert.equal(llm.calls, 2);
    assert.equal(result.usage.llm_calls, 2);
    assert.match(result.error!.message, /max_llm_calls reached: 2 of 2/);
    assert.equal(ofType(events, "budget_exceeded")[0]!.data.limit, "max_llm_calls");
  });

  test("max_tokens is checked after each call", async () => {
    const llm = endless();
    const { result } = await run(llmAgent({ tools: ["ping"] }), { llm, tools: ping(), limits: { max_tokens: 40 } });
    assert.equal(result.status, "budget_exceeded");
    assert.equal(llm.calls, 3);
    assert.equal(result.usage.input_tokens + result.usage.output_tokens, 45);
    assert.match(result.error!.message, /max_tokens exceeded: 45 tokens/);
  });

  test("max_cost_usd uses the configured pricing", async () => {
    const llm = endless();
    const a = llmAgent({ tools: ["ping"] }, { llm: { pricing: { input_per_million: 1000, output_per_million: 2000 } } });
    // Each turn: 10 * 1000/1e6 + 5 * 2000/1e6 = 0.02 USD.
    const { result } = await run(a, { llm, tools: ping(), limits: { max_cost_usd: 0.05 } });
    assert.equal(result.status, "budget_exceeded");
    assert.equal(llm.calls, 3);
    assert.equal(result.usage.cost_usd, 0.06);
    assert.match(result.error!.message, /max_cost_usd exceeded/);
  });
});
