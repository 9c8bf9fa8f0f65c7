import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { MockLlmProvider } from "../../src/llm/mock.js";
import { FileSessionStore } from "../../src/storage/sessions.js";
import { FileStateStore } from "../../src/storage/state.js";
import { FakeResolver, FakeTool, makeAgent, ofType, run, tempDir } from "./helpers.js";

describe("with the real mock provider and file storage", () => {
  test("a mock-scripted triage run writes its record and event log to disk", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const llmConfig = {
        provider: "mock",
        responses: {
          classify: [
            { tool_calls: [{ name: "lookup", arguments: { id: 7 } }] },
            { tool_calls: [{ name: "set_output", arguments: { key: "severity", value: "high" } }] },
          ],
          summarize: [{ text: "Crash on start for every user." }],
        },
      };
      const agent = makeAgent({
        llm: llmConfig,
        graph: {
          output_keys: ["severity", "summary"],
          nodes: [
            { id: "classify", type: "llm", prompt: "Classify issue {{ input.id }}", tools: ["lookup"], output_keys: ["severity", "state.last_severity"], nullable_output_keys: ["state.last_severity"] },
            { id: "summarize", type: "llm", output_keys: ["summary"], text_output: true },
          ],
          edges: [{ from: "classify", to: "summarize", when: 'memory.severity == "high"' }],
        },
      });
      const lookup = new FakeTool("lookup", (args) => ({ id: args.id, title: "crash" }));
      const store = new FileSessionStore(join(dir, "storage"));
      await store.init();
      const state = new FileStateStore(join(dir, "storage"));
      const llm = new MockLlmProvider(agent.llm!);
      const { result, events } = await run(agent, { llm, store, state, input: { id: 7 }, tools: new FakeResolver([lookup]) });
      assert.equal(result.status, "completed");
      assert.deepEqual(result.output, { severity: "high", summary: "Crash on start for every user." });
      assert.deepEqual(result.path, ["classify", "summarize"]);
      assert.equal(result.usage.llm_calls, 3);
      assert.equal(result.usage.tool_calls, 1);
      await store.flush();
      const onDisk = JSON.parse(await readFile(store.recordPath("test-agent", result.session_id, result.execution_id), "utf8"));
      assert.equal(onDisk.status, "completed");
      assert.deepEqual(onDisk.output, result.output);
      assert.deepEqual(onDisk.input, { id: 7 });
      const logged = await store.readEvents("test-agent", result.session_id, result.execution_id);
      assert.deepEqual(
        logged.map((event) => event.type),
        events.map((event) => event.type),
      );
      assert.equal(ofType(logged, "execution_completed").length, 1);
    } finally {
      await cleanup();
    }
  });
});
