import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { LlmConfig } from "../../src/config/schema.js";
import { createLlmProvider, LlmError, type LlmProvider } from "../../src/llm/index.js";
import { anthropicBody, openAiBody, startFakeLlmServer, type FakeLlmServer, type ReceivedRequest } from "./fake-llm-server.js";
import { never, RecordingClock, SET_OUTPUT_TOOL, userRequest } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";

const API_KEY = "sk-test-provider-key-0001";

type Wire = "openai" | "anthropic";

/** The content blocks of an Anthropic request's messages of one role. */
function blocksOf(r: ReceivedRequest, role: "user" | "assistant") {
  return anthropicBody(r).messages.flatMap((m) => (m.role === role && Array.isArray(m.content) ? m.content : []));
}

/** Where each wire format keeps what the tests look at. */
const wire = {
  openai: {
    auth: (r: ReceivedRequest) => r.headers["authorization"],
    expectedAuth: `Bearer ${API_KEY}`,
    toolResults: (r: ReceivedRequest) =>
      openAiBody(r)
        .messages.filter((m) => m.role === "tool")
        .map((m) => ({ id: m.tool_call_id, content: m.content })),
    assistantToolCalls: (r: ReceivedRequest) =>
      openAiBody(r)
        .messages.filter((m) => m.role === "assistant")
        .flatMap((m) => (m.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, input: JSON.parse(c.function.arguments) as unknown }))),
    toolNames: (r: ReceivedRequest) => (openAiBody(r).tools ?? []).map((t) => t.function.name),
    toolSchema: (r: ReceivedRequest) => openAiBody(r).tools?.[0]?.function.parameters,
  },
  anthropic: {
    auth: (r: ReceivedRequest) => r.headers["x-api-key"],
    expectedAuth: API_KEY,
    toolResults: (r: ReceivedRequest) =>
      blocksOf(r, "user").flatMap((b) =>
        b.type === "tool_result" ? [{ id: b.tool_use_id, content: typeof b.content === "string" ? b.content : b.content[0]?.text }] : [],
      ),
    assistantToolCalls: (r: ReceivedRequest) =>
      blocksOf(r, "assistant").flatMap((b) => (b.type === "tool_use" ? [{ id: b.id, name: b.name, input: b.input }] : [])),
    toolNames: (r: ReceivedRequest) => (anthropicBody(r).tools ?? []).map((t) => t.name),
    toolSchema: (r: ReceivedRequest) => anthropicBody(r).tools?.[0]?.input_schema,
  },
} satisfies Record<Wire, unknown>;

for (const provider of ["openai", "anthropic"] as const) {
  describe(`${provider} provider against a server speaking its wire format`, () => {
    let server: FakeLlmServer;
    let clock: RecordingClock;

    before(async () => {
      server = await startFakeLlmServer();
    });
    after(async () => {
      await server.close();
    });
    beforeEach(() => {
      server.requests.length = 0;
      clock = new RecordingClock();
    });

    function make(overrides: Partial<LlmConfig> = {}): Promise<LlmProvider> {
      const config: LlmConfig = {
        provider,
        model: "model-a",
        base_url: server.baseUrl,
        api_key: API_KEY,
        timeout_seconds: 10,
        max_retries: 3,
        ...overrides,
      };
      return createLlmProvider(config, { clock });
    }

    test("a text reply comes back with its usage and finish reason", async () => {
      const llm = await make();
      server.reply({ text: "A short summary.", usage: { input_tokens: 123, output_tokens: 7 } });
      const response = await llm.complete(userRequest("Long text"), never());
      assert.equal(response.text, "A short summary.");
      assert.deepEqual(response.tool_calls, []);
      assert.deepEqual(response.usage, { input_tokens: 123, output_tokens: 7 });
      assert.equal(response.finish_reason, "stop");
    });

    test("model, temperature, max_tokens and the API key are sent; the node's model wins", async () => {
      const llm = await make({ temperature: 0.2, max_tokens: 321 });
      server.reply({ text: "one" }, { text: "two" });
      await llm.complete(userRequest("x"), never());
      await llm.complete(userRequest("x", { model: "model-b", temperature: 0.7, max_tokens: 50 }), never());
      const [first, second] = server.requests;
      assert.equal(openAiBody(first!).model, "model-a");
      assert.equal(openAiBody(first!).temperature, 0.2);
      assert.equal(openAiBody(first!).max_tokens, 321);
      assert.equal(wire[provider].auth(first!), wire[provider].expectedAuth);
      assert.equal(openAiBody(second!).model, "model-b");
      assert.equal(openAiBody(second!).temperature, 0.7);
      assert.equal(openAiBody(second!).max_tokens, 50);
    });

    test("tools are offered with their JSON schema and a tool call is parsed", async () => {
      const llm = await make();
      server.reply({ tool_calls: [{ id: "tc_1", name: "set_output", arguments: { key: "summary", value: "short" } }] });
      const response = await llm.complete(userRequest("x", { tools: [SET_OUTPUT_TOOL] }), never());
      assert.deepEqual(response.tool_calls, [{ id: "tc_1", name: "set_output", arguments: { key: "summary", value: "short" } }]);
      assert.equal(response.finish_reason, "tool_calls");
      const sent = server.requests[0]!;
      assert.deepEqual(wire[provider].toolNames(sent), ["set_output"]);
      assert.deepEqual((wire[provider].toolSchema(sent) as { required?: string[] } | undefined)?.required, ["key", "value"]);
    });

    test("the tool calls and their results go back in the next request in the provider's format", async () => {
      const llm = await make();
      server.reply({ text: "done" });
      await llm.complete(
        {
          node_id: "summarize",
          turn: 2,
          messages: [
            { role: "system", content: "sys" },
            { role: "user", content: "go" },
            {
              role: "assistant",
              content: "",
              tool_calls: [
                { id: "tc_a", name: "lookup", arguments: { q: "a" } },
                { id: "tc_b", name: "lookup", arguments: { q: "b" } },
              ],
            },
            { role: "tool", tool_call_id: "tc_a", name: "lookup", content: "result A" },
            { role: "tool", tool_call_id: "tc_b", name: "lookup", content: "no such page", is_error: true },
          ],
          tools: [{ name: "lookup", description: "Look up", input_schema: { type: "object", properties: { q: { type: "string" } } } }],
        },
        never(),
      );
      const sent = server.requests[0]!;
      assert.deepEqual(wire[provider].assistantToolCalls(sent), [
        { id: "tc_a", name: "lookup", input: { q: "a" } },
        { id: "tc_b", name: "lookup", input: { q: "b" } },
      ]);
      const results = wire[provider].toolResults(sent);
      assert.deepEqual(results.map((r) => r.id), ["tc_a", "tc_b"]);
      assert.equal(results[0]!.content, "result A");
      assert.match(String(results[1]!.content), /no such page/);
    });

    test("429 with Retry-After is retried after the time the server asked for", async () => {
      const llm = await make();
      server.reply(
        { status: 429, headers: { "retry-after": "2" }, error: { message: "slow down" } },
        { text: "after the wait" },
      );
      const response = await llm.complete(userRequest("x"), never());
      assert.equal(response.text, "after the wait");
      assert.equal(server.requests.length, 2);
      assert.deepEqual(clock.waits, [2000]);
    });

    test("500 twice then a reply succeeds on the third attempt", async () => {
      const llm = await make();
      server.reply({ status: 500 }, { status: 503 }, { text: "third time" });
      const response = await llm.complete(userRequest("x"), never());
      assert.equal(response.text, "third time");
      assert.equal(server.requests.length, 3);
      assert.equal(clock.waits.length, 2);
      // Full jitter under a doubling ceiling: 0..500 ms, then 0..1000 ms.
      assert.ok(clock.waits[0]! <= 500 && clock.waits[1]! <= 1000, `waits ${clock.waits}`);
    });

    test("when retries run out the error carries the provider's message", async () => {
      const llm = await make({ max_retries: 2 });
      const overloaded = { status: 529, error: { message: "Overloaded right now" } };
      server.reply(overloaded, overloaded, overloaded);
      await assert.rejects(llm.complete(userRequest("x"), never()), (err: unknown) => {
        assert.ok(err instanceof LlmError);
        assert.match(err.message, /Overloaded right now/);
        assert.match(err.message, /gave up after 3 attempts/);
        assert.equal(err.status, 529);
        return true;
      });
      assert.equal(server.requests.length, 3);
    });

    test("401 fails at once with a clear authentication error", async () => {
      const llm = await make();
      server.reply({ status: 401, error: { message: "invalid x-api-key" } });
      await assert.rejects(llm.complete(userRequest("x"), never()), (err: unknown) => {
        assert.ok(err instanceof LlmError);
        assert.equal(err.message, "authentication failed: invalid x-api-key (check llm.api_key)");
        assert.equal(err.status, 401);
        return true;
      });
      assert.equal(server.requests.length, 1);
      assert.deepEqual(clock.waits, []);
    });

    test("400 context too long is reported with the provider's message and not retried", async () => {
      const llm = await make();
      server.reply({
        status: 400,
        error: { message: "This model's maximum context length is 8192 tokens", code: "context_length_exceeded" },
      });
      await assert.rejects(llm.complete(userRequest("x"), never()), /rejected the request \(400\): This model's maximum context length is 8192 tokens/);
      assert.equal(server.requests.length, 1);
    });

    test("malformed tool arguments from the model are reported, naming the tool", async () => {
      const llm = await make();
      server.reply({ tool_calls: [{ id: "tc_bad", name: "set_output", arguments: '{"key": "summary", "value": ' }] });
      await assert.rejects(
        llm.complete(userRequest("x", { tools: [SET_OUTPUT_TOOL] }), never()),
        /malformed arguments for tool "set_output" \(call tc_bad\)/,
      );
    });

    test("timeout_seconds aborts a slow call and says so, without retrying", async () => {
      const llm = await make({ timeout_seconds: 0.3 });
      server.reply({ delay_ms: 10_000, text: "too late" });
      const started = Date.now();
      await assert.rejects(llm.complete(userRequest("x"), never()), (err: unknown) => {
        assert.ok(err instanceof LlmError);
        assert.equal(err.message, "LLM call timed out after 0.3s");
        return true;
      });
      // The server would have answered after 10 s; the call gave up long before.
      assert.ok(Date.now() - started < 5000);
      assert.equal(server.requests.length, 1);
    });

    test("aborting the signal stops the call in flight", async () => {
      const llm = await make();
      server.reply({ delay_ms: 10_000, text: "too late" });
      const controller = new AbortController();
      const pending = llm.complete(userRequest("x"), controller.signal);
      await waitFor("the request to reach the server", () => server.requests.length > 0, { stepMs: 5 });
      controller.abort(new Error("run cancelled"));
      await assert.rejects(pending, /run cancelled/);
      assert.equal(server.requests.length, 1);
    });

    test("a reply cut off mid-body is an error, and is retried like a network fault", async () => {
      const once = await make({ max_retries: 0 });
      server.reply({ cut: true, text: "a reply that never fully arrives" });
      await assert.rejects(once.complete(userRequest("x"), never()), /incomplete or unreadable reply/);

      const retrying = await make({ max_retries: 1 });
      server.reply({ cut: true, text: "lost" }, { text: "whole" });
      const response = await retrying.complete(userRequest("x"), never());
      assert.equal(response.text, "whole");
    });

    test("an unreachable server is a clear, retried network error", async () => {
      const dead = await startFakeLlmServer();
      const deadUrl = dead.baseUrl;
      await dead.close();
      const llm = await make({ base_url: deadUrl, max_retries: 1 });
      await assert.rejects(llm.complete(userRequest("x"), never()), (err: unknown) => {
        assert.ok(err instanceof LlmError);
        assert.match(err.message, new RegExp(`cannot reach ${provider} at http://127\\.0\\.0\\.1`));
        return true;
      });
      assert.equal(clock.waits.length, 1);
    });
  });
}

describe("anthropic message shape", () => {
  test("error results are flagged, and a later system message is sent as user text", async () => {
    const server = await startFakeLlmServer();
    try {
      const llm = await createLlmProvider({
        provider: "anthropic",
        model: "claude-x",
        base_url: server.baseUrl,
        api_key: API_KEY,
        timeout_seconds: 5,
        max_retries: 0,
      });
      server.reply({ text: "ok" });
      await llm.complete(
        {
          node_id: "n",
          turn: 2,
          messages: [
            { role: "system", content: "You are terse." },
            { role: "user", content: "go" },
            { role: "assistant", content: "", tool_calls: [{ id: "tu_1", name: "fetch", arguments: {} }] },
            { role: "tool", tool_call_id: "tu_1", name: "fetch", content: "timeout", is_error: true },
            { role: "system", content: "Call set_output now." },
          ],
          tools: [],
        },
        never(),
      );
      const body = anthropicBody(server.requests[0]!);
      assert.deepEqual(body.system, [{ type: "text", text: "You are terse." }]);
      assert.ok(body.messages.every((m) => m.role === "user" || m.role === "assistant"));
      const last = body.messages.at(-1);
      assert.deepEqual(last?.content, [
        { type: "tool_result", tool_use_id: "tu_1", content: "timeout", is_error: true },
        { type: "text", text: "Call set_output now." },
      ]);
    } finally {
      await server.close();
    }
  });
});

describe("provider configuration", () => {
  test("a node with no model anywhere fails with a message saying where to set one", async () => {
    const llm = await createLlmProvider({ provider: "openai", base_url: "http://127.0.0.1:9/v1", timeout_seconds: 5, max_retries: 0 });
    await assert.rejects(llm.complete(userRequest("x"), never()), /no model set for node summarize: set llm.model/);
  });

  test("anthropic without an api_key is refused before any call", async () => {
    await assert.rejects(
      createLlmProvider({ provider: "anthropic", model: "claude-x", timeout_seconds: 5, max_retries: 0 }),
      /llm.api_key is not set for provider anthropic/,
    );
  });
});
