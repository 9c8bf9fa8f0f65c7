import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LlmConfig } from "../../src/config/schema.js";
import { createLlmProvider, LlmError, type LlmRequest } from "../../src/llm/index.js";
import { clearSecrets, registerSecret } from "../../src/logging/index.js";
import { startFakeLlmServer, type FakeLlmServer } from "./fake-llm-server.js";
import { never, SET_OUTPUT_TOOL, userRequest } from "./helpers.js";

const API_KEY = "sk-recording-key-778899";

describe("record and replay", () => {
  let server: FakeLlmServer;
  let dir: string;

  before(async () => {
    server = await startFakeLlmServer();
    dir = await mkdtemp(join(tmpdir(), "forager-llm-"));
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(() => clearSecrets());

  const openai = (): LlmConfig => ({
    provider: "openai",
    model: "model-a",
    base_url: server.baseUrl,
    api_key: API_KEY,
    timeout_seconds: 10,
    max_retries: 0,
  });

  const classify: LlmRequest = { ...userRequest("Issue: the app crashes"), node_id: "classify", turn: 1, tools: [SET_OUTPUT_TOOL] };
  const classifyTurn2: LlmRequest = { ...classify, turn: 2 };
  const summarize: LlmRequest = { ...userRequest("Summarise"), node_id: "summarize", turn: 1 };

  test("a recorded run replays with identical responses and no server", async () => {
    const file = join(dir, "run.jsonl");
    const recording = await createLlmProvider(openai(), { record: file });
    server.reply(
      { tool_calls: [{ id: "tc_9", name: "set_output", arguments: { key: "severity", value: "high" } }], usage: { input_tokens: 40, output_tokens: 9 } },
      { text: "classified", usage: { input_tokens: 50, output_tokens: 2 } },
      { text: "A crash report.", usage: { input_tokens: 30, output_tokens: 4 } },
    );
    const live = [
      await recording.complete(classify, never()),
      await recording.complete(classifyTurn2, never()),
      await recording.complete(summarize, never()),
    ];
    await recording.close!();

    const lines = (await readFile(file, "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => [l.seq, l.node_id, l.turn]),
      [[1, "classify", 1], [2, "classify", 2], [3, "summarize", 1]],
    );
    assert.equal(lines[0].request.model, "model-a");
    assert.equal(lines[0].request.messages[1].content, "Issue: the app crashes");
    assert.equal(lines[0].request.tools[0].name, "set_output");
    assert.equal(lines[2].response.text, "A crash report.");

    const requestsBefore = server.requests.length;
    // No key, no reachable base_url: replay must not need either.
    const replay = await createLlmProvider(
      { provider: "openai", base_url: "http://127.0.0.1:9/v1", timeout_seconds: 1, max_retries: 0 },
      { replay: file },
    );
    const replayed = [
      await replay.complete(classify, never()),
      await replay.complete(classifyTurn2, never()),
      await replay.complete(summarize, never()),
    ];
    assert.deepEqual(
      replayed.map(({ text, tool_calls, usage, finish_reason }) => ({ text, tool_calls, usage, finish_reason })),
      live.map(({ text, tool_calls, usage, finish_reason }) => ({ text, tool_calls, usage, finish_reason })),
    );
    assert.equal(server.requests.length, requestsBefore);
  });

  test("a run that asks something else than the recording says where it diverged", async () => {
    const file = join(dir, "diverge.jsonl");
    const recording = await createLlmProvider({ provider: "mock", timeout_seconds: 1, max_retries: 0, responses: { "*": [{ text: "a" }, { text: "b" }, { text: "c" }] } }, { record: file });
    await recording.complete({ ...userRequest("x"), node_id: "fetch", turn: 1 }, never());
    await recording.complete({ ...userRequest("x"), node_id: "classify", turn: 1 }, never());
    await recording.complete({ ...userRequest("x"), node_id: "classify", turn: 2 }, never());
    await recording.close!();

    const replay = await createLlmProvider({ provider: "mock", timeout_seconds: 1, max_retries: 0 }, { replay: file });
    await replay.complete({ ...userRequest("x"), node_id: "fetch", turn: 1 }, never());
    await replay.complete({ ...userRequest("x"), node_id: "classify", turn: 1 }, never());
    await assert.rejects(
      replay.complete({ ...userRequest("x"), node_id: "summarize", turn: 1 }, never()),
      (err: unknown) => {
        assert.ok(err instanceof LlmError);
        assert.equal(err.message, "replay diverged at call 3: the run asked node `summarize` turn 1, the recording has node `classify` turn 2");
        return true;
      },
    );
  });

  test("a run that makes more calls than were recorded fails saying so", async () => {
    const file = join(dir, "short.jsonl");
    const recording = await createLlmProvider({ provider: "mock", timeout_seconds: 1, max_retries: 0, responses: { "*": [{ text: "a" }] } }, { record: file });
    await recording.complete(summarize, never());
    await recording.close!();
    const replay = await createLlmProvider({ provider: "mock", timeout_seconds: 1, max_retries: 0 }, { replay: file });
    await replay.complete(summarize, never());
    await assert.rejects(replay.complete({ ...summarize, turn: 2 }, never()), /replay diverged at call 2: the run asked node `summarize` turn 2, the recording .* has only 1 calls/);
  });

  test("a failed call is recorded and replays as the same error", async () => {
    const file = join(dir, "errors.jsonl");
    const recording = await createLlmProvider(openai(), { record: file });
    server.reply({ status: 401, error: { message: "bad key" } });
    await assert.rejects(recording.complete(summarize, never()), /authentication failed: bad key/);
    await recording.close!();
    const replay = await createLlmProvider(openai(), { replay: file });
    await assert.rejects(replay.complete(summarize, never()), (err: unknown) => {
      assert.ok(err instanceof LlmError);
      assert.equal(err.message, "authentication failed: bad key (check llm.api_key)");
      assert.equal(err.status, 401);
      return true;
    });
  });

  test("secrets never reach the recording", async () => {
    const file = join(dir, "secrets.jsonl");
    registerSecret("ghp_supersecretgithubtoken42");
    const recording = await createLlmProvider(openai(), { record: file });
    server.reply({ text: "I used ghp_supersecretgithubtoken42 as asked" });
    await recording.complete(userRequest(`Use token ghp_supersecretgithubtoken42 and key ${API_KEY}`), never());
    await recording.close!();
    const text = await readFile(file, "utf8");
    assert.ok(!text.includes("ghp_supersecretgithubtoken42"), text);
    assert.ok(!text.includes(API_KEY), text);
    assert.ok(!/authorization/i.test(text));
    assert.match(text, /Use token \[REDACTED\] and key \[REDACTED\]/);
    assert.match(text, /I used \[REDACTED\] as asked/);
  });

  test("a missing or corrupt recording is a clear error before the run starts", async () => {
    const config: LlmConfig = { provider: "mock", timeout_seconds: 1, max_retries: 0 };
    const missing = join(dir, "nope.jsonl");
    await assert.rejects(createLlmProvider(config, { replay: missing }), new RegExp(`the LLM recording ${missing} does not exist`));

    const corrupt = join(dir, "corrupt.jsonl");
    await writeFile(corrupt, '{"seq":1,"node_id":"a","turn":1,"request":{},"response":{"text":"x","tool_calls":[],"usage":{}}}\n{"seq":2,"node_');
    await assert.rejects(createLlmProvider(config, { replay: corrupt }), new RegExp(`the LLM recording ${corrupt}:2 is not a valid entry: not JSON`));
  });

  test("--record and --replay together are refused", async () => {
    await assert.rejects(
      createLlmProvider({ provider: "mock", timeout_seconds: 1, max_retries: 0 }, { record: join(dir, "a"), replay: join(dir, "b") }),
      /--record and --replay cannot be used together/,
    );
  });
});
