/**
 * The library's promises at its edge (SPEC 8): options are checked, not
 * ignored; every error is a ForagerError with a code; timers follow the
 * loader's rule whether they come from a file or from registerEntryPoint;
 * createLogger's "auto" format reads the environment; a provider written
 * against the exported message types runs an llm node, and the concrete
 * stores and the event bus are not exported.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import * as forager from "../../src/index.js";
import {
  AgentRuntime,
  ForagerError,
  ToolError,
  TriggerError,
  agentFromObject,
  createLogger,
  type AgentRuntimeOptions,
  type ChatMessage,
  type LlmProvider,
  type LlmRequest,
  type LlmResponse,
  type TokenUsage,
  type ToolCall,
  type WaitOptions,
} from "../../src/index.js";
import { functionAgent, tempDir } from "./helpers.js";

const invalidOption = (pattern: RegExp) => (err: unknown) => err instanceof ForagerError && err.code === "invalid_option" && pattern.test(err.message);

describe("options are checked", () => {
  test("waitForCompletion(id, 300) and unknown option keys are invalid_option errors", async (t) => {
    const dir = await tempDir(t);
    const runtime = new AgentRuntime({ agent: await functionAgent(dir, "opts", [{ id: "api", trigger_type: "api" }]) });
    await runtime.start();
    t.after(() => runtime.stop());
    const id = await runtime.trigger("api", {});
    await assert.rejects(runtime.waitForCompletion(id, 300 as unknown as WaitOptions), invalidOption(/\{ timeoutMs: 300 \}/));
    await assert.rejects(runtime.waitForCompletion(id, { timeout: 300 } as WaitOptions), invalidOption(/unknown option "timeout" \(did you mean "timeoutMs"\?\); known: timeoutMs, signal/));
    await assert.rejects(runtime.trigger("api", {}, { idempotency_key: "k" } as never), invalidOption(/"idempotency_key" \(did you mean "idempotencyKey"\?\)/));
    assert.equal((await runtime.waitForCompletion(id, { timeoutMs: 30_000 }))?.status, "completed");
  });

  test("an unknown AgentRuntime option or runtime setting is refused at construction", () => {
    assert.throws(() => new AgentRuntime({ storagepath: "/tmp/x" } as AgentRuntimeOptions), invalidOption(/"storagepath" \(did you mean "storagePath"\?\)/));
    assert.throws(() => new AgentRuntime({ config: { max_concurent_executions: 3 } } as AgentRuntimeOptions), invalidOption(/options\.config: unknown option "max_concurent_executions"/));
    assert.equal(new AgentRuntime({ config: { max_concurrent_executions: 3 } }).config.max_concurrent_executions, 3);
  });
});

test("TriggerError and ToolError are ForagerErrors with a code", async (t) => {
  const dir = await tempDir(t);
  const runtime = new AgentRuntime({ agent: await functionAgent(dir, "codes", [{ id: "api", trigger_type: "api" }]) });
  await runtime.start();
  t.after(() => runtime.stop());
  await assert.rejects(runtime.trigger("nope", {}), (err: unknown) => err instanceof TriggerError && err instanceof ForagerError && err.code === "not_found" && err.kind === "not_found");
  const tool = new ToolError("fetch", "HTTP 500");
  assert.ok(tool instanceof ForagerError);
  assert.equal(tool.code, "tool_error");
  assert.equal(tool.name, "ToolError");
});

test("registerEntryPoint refuses a timer with cron and interval_minutes, as the loader does", async (t) => {
  const dir = await tempDir(t);
  const runtime = new AgentRuntime({ agent: await functionAgent(dir, "timers", [{ id: "api", trigger_type: "api" }]) });
  const refused = (pattern: RegExp) => (err: unknown) => err instanceof ForagerError && err.code === "invalid_entry_point" && pattern.test(err.message);
  assert.throws(
    () => runtime.registerEntryPoint({ id: "both", triggerType: "timer", triggerConfig: { cron: "0 * * * *", intervalMinutes: 5 } }),
    refused(/a timer needs exactly one of interval_minutes, interval_seconds or cron; found interval_minutes and cron/),
  );
  assert.throws(
    () => runtime.registerEntryPoint({ id: "mars", trigger_type: "timer", trigger_config: { cron: "0 9 * * *", timezone: "Mars/Olympus" } }),
    refused(/unknown time zone 'Mars\/Olympus'/),
  );
  assert.throws(() => runtime.registerEntryPoint({ id: "none", triggerType: "timer", triggerConfig: {} }), refused(/found none/));
  runtime.registerEntryPoint({ id: "hourly", triggerType: "timer", triggerConfig: { cron: "0 * * * *" } });
  assert.equal((await runtime.getStats()).streams["timers/hourly"]?.trigger_type, "timer");
});

describe('createLogger({ format: "auto" })', () => {
  const firstLine = (env: NodeJS.ProcessEnv) => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    createLogger({ format: "auto", env, color: false, destination }).info("hello");
    return lines.join("");
  };

  test("JSON when LOG_FORMAT=json or ENV=production, readable otherwise", () => {
    assert.equal(JSON.parse(firstLine({ LOG_FORMAT: "json" })).msg, "hello");
    assert.equal(JSON.parse(firstLine({ ENV: "production" })).msg, "hello");
    const human = firstLine({});
    assert.match(human, /INFO.*hello/);
    assert.throws(() => JSON.parse(human));
    assert.match(firstLine({ ENV: "production", LOG_FORMAT: "human" }), /INFO.*hello/);
  });

  test("an unknown format or option is refused", () => {
    assert.throws(() => createLogger({ format: "yaml" as "json" }), invalidOption(/format must be one of json, human, auto/));
    assert.throws(() => createLogger({ fromat: "json" } as never), invalidOption(/"fromat" \(did you mean "format"\?\)/));
  });
});

test("an LlmProvider written against the exported message types runs an llm node", async (t) => {
  const seen: ChatMessage[][] = [];
  const provider: LlmProvider = {
    name: "scripted",
    async complete(request: LlmRequest): Promise<LlmResponse> {
      seen.push(request.messages.map((m) => ({ ...m })));
      const usage: TokenUsage = { input_tokens: 10, output_tokens: 2 };
      const offered = request.tools.map((tool) => tool.name);
      const call: ToolCall = { id: "c1", name: "set_output", arguments: { key: "answer", value: `tools: ${offered.join(",")}` } };
      return { text: "", tool_calls: [call], usage };
    },
  };
  const agent = agentFromObject({
    name: "typed-llm",
    llm: { provider: "mock", model: "m" },
    graph: { nodes: [{ id: "think", type: "llm", prompt: "Answer {{ input.q }}", output_keys: ["answer"] }] },
    entry_points: [{ id: "api", trigger_type: "api" }],
  });
  const runtime = new AgentRuntime({ agent, llm: provider });
  await runtime.start();
  t.after(() => runtime.stop());
  const result = await runtime.waitForCompletion(await runtime.trigger("api", { q: "why" }), { timeoutMs: 30_000 });
  assert.equal(result?.status, "completed");
  assert.equal(result?.output.answer, "tools: set_output");
  assert.deepEqual(result?.usage && [result.usage.input_tokens, result.usage.output_tokens], [10, 2]);
  const first = seen[0]?.find((m): m is Extract<ChatMessage, { role: "user" }> => m.role === "user");
  assert.equal(first?.content, "Answer why");
});

test("the concrete stores and the event bus are not exported; their interfaces are types only", () => {
  const names = Object.keys(forager);
  for (const hidden of ["FileSessionStore", "MemorySessionStore", "FileStateStore", "MemoryStateStore", "FileKeyStore", "MemoryKeyStore", "EventBus"]) {
    assert.ok(!names.includes(hidden), `${hidden} is not exported`);
  }
  assert.ok(names.includes("AgentRuntime") && names.includes("FakeClock"), "the module's values are listed");
});

test("a runtime on a storage folder reads what another one stored there, without starting", async (t) => {
  const dir = await tempDir(t);
  const storagePath = `${dir}/storage`;
  const writer = new AgentRuntime({ agent: await functionAgent(dir, "stored", [{ id: "api", trigger_type: "api" }]), storagePath });
  await writer.start();
  const id = await writer.trigger("api", { n: 1 });
  assert.equal((await writer.waitForCompletion(id, { timeoutMs: 30_000 }))?.status, "completed");
  await writer.stop();

  const reader = new AgentRuntime({ storagePath });
  t.after(() => reader.stop());
  const listed = await reader.listExecutions({ agent: "stored" });
  assert.deepEqual(
    listed.map((e) => [e.execution_id, e.status]),
    [[id, "completed"]],
  );
  const stored = await reader.getExecution(id);
  assert.equal(stored?.status, "completed");
  assert.deepEqual(stored?.output, { done: true });
  assert.equal(reader.state, "created", "reading needs no start()");
});
