// The same agent through `forager run` against both real wire formats
// (a local server speaking OpenAI chat completions and Anthropic Messages),
// then recorded and replayed with no server and no key.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { startFakeLlmServer, type FakeLlmServer } from "../llm/fake-llm-server.js";
import { STACK_LINE, repoRoot, runCli, tempDir } from "../helpers/cli.js";

const agentFile = join(repoRoot, "test/fixtures/run/summarizer.yaml");
const apiKey = "sk-test-very-secret-4242";
let server: FakeLlmServer;
let dir: { path: string; cleanup: () => Promise<void> };

before(async () => {
  server = await startFakeLlmServer();
  dir = await tempDir("forager-providers-");
});
after(async () => {
  await server.close();
  await dir.cleanup();
});

function script() {
  server.reply(
    { tool_calls: [{ name: "shout", arguments: { text: "short" } }], usage: { input_tokens: 100, output_tokens: 10 } },
    { tool_calls: [{ name: "set_output", arguments: { key: "summary", value: "A short text." } }], usage: { input_tokens: 150, output_tokens: 20 } },
  );
}

for (const provider of ["openai", "anthropic"] as const) {
  describe(`provider ${provider}`, () => {
    test("a tool call, its result sent back, set_output, usage and cost in the result", async () => {
      script();
      const before = server.requests.length;
      const r = await runCli(["run", agentFile, "--json", "--storage", dir.path, "--input", '{"text": "a short text"}'], {
        env: { LLM_PROVIDER: provider, LLM_BASE_URL: server.baseUrl, LLM_API_KEY: apiKey },
      });
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.stdout);
      assert.equal(result.output.summary, "A short text.");
      assert.deepEqual(
        { calls: result.usage.llm_calls, tools: result.usage.tool_calls, in: result.usage.input_tokens, out: result.usage.output_tokens },
        { calls: 2, tools: 1, in: 250, out: 30 },
      );
      assert.ok(Math.abs(result.usage.cost_usd - (250 * 1 + 30 * 2) / 1e6) < 1e-12);
      const sent = server.requests.slice(before);
      assert.equal(sent.length, 2);
      assert.equal(sent[0]!.path, provider === "openai" ? "/v1/chat/completions" : "/v1/messages");
      // The second request carries the tool's real output back to the model.
      assert.match(JSON.stringify(sent[1]!.body), /SHORT!/);
      assert.ok(!r.stderr.includes(apiKey));
    });

    test("a provider error becomes a clear node failure, not a stack trace", async () => {
      server.reply({ status: 401, error: { type: "authentication_error", message: "invalid x-api-key" } });
      const r = await runCli(["run", agentFile, "--json", "--storage", dir.path, "--input", '{"text": "x"}'], {
        env: { LLM_PROVIDER: provider, LLM_BASE_URL: server.baseUrl, LLM_API_KEY: apiKey },
      });
      assert.equal(r.code, 1);
      const result = JSON.parse(r.stdout);
      assert.equal(result.error.node_id, "summarize");
      assert.match(result.error.message, /invalid x-api-key/);
      assert.doesNotMatch(r.stderr, STACK_LINE);
    });
  });
}

describe("record and replay", () => {
  test("a recorded run replays with no server and no key, and the recording holds no secret", async () => {
    script();
    const recording = join(dir.path, "run.llm.jsonl");
    const recorded = await runCli(
      ["run", agentFile, "--json", "--storage", dir.path, "--input", '{"text": "a short text"}', "--record", recording],
      { env: { LLM_PROVIDER: "openai", LLM_BASE_URL: server.baseUrl, LLM_API_KEY: apiKey } },
    );
    assert.equal(recorded.code, 0, recorded.stderr);
    const text = await readFile(recording, "utf8");
    assert.equal(text.trim().split("\n").length, 2);
    assert.ok(!text.includes(apiKey), "the API key is in the recording");

    const before = server.requests.length;
    const replayed = await runCli(
      ["run", agentFile, "--json", "--storage", dir.path, "--input", '{"text": "a short text"}', "--replay", recording],
      // No key and an address where nothing listens: replay must not need either.
      { env: { LLM_PROVIDER: "openai", LLM_BASE_URL: "http://127.0.0.1:9/v1", LLM_API_KEY: undefined } },
    );
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.equal(server.requests.length, before);
    assert.deepEqual(JSON.parse(replayed.stdout).output, JSON.parse(recorded.stdout).output);
  });

  test("a run that diverges from the recording fails saying where", async () => {
    const recording = join(dir.path, "short.llm.jsonl");
    await import("node:fs/promises").then((fs) =>
      fs.writeFile(
        recording,
        JSON.stringify({ seq: 1, node_id: "other_node", turn: 1, request: { model: "m", messages: [], tools: [] }, response: { text: "hi", tool_calls: [], usage: { input_tokens: 1, output_tokens: 1 } } }) + "\n",
      ),
    );
    const r = await runCli(["run", agentFile, "--json", "--storage", dir.path, "--input", '{"text": "x"}', "--replay", recording], {
      env: { LLM_PROVIDER: "openai", LLM_BASE_URL: "http://127.0.0.1:9/v1", LLM_API_KEY: undefined },
    });
    assert.equal(r.code, 1);
    assert.match(JSON.parse(r.stdout).error.message, /diverged.*summarize.*other_node/s);
  });
});
