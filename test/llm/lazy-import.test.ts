import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { modulesLoadedBy, root } from "../helpers/modules-loaded.js";

test("a mock run never loads the AI SDK, a real provider loads it only when called", async () => {
  const llmIndex = pathToFileURL(join(root, "dist/llm/index.js")).href;
  const mockRun = await modulesLoadedBy(`
    const { createLlmProvider } = await import(${JSON.stringify(llmIndex)});
    const llm = await createLlmProvider({ provider: "mock", timeout_seconds: 1, max_retries: 0, responses: { "*": [{ text: "hi" }] } });
    const r = await llm.complete({ node_id: "n", turn: 1, messages: [], tools: [] }, new AbortController().signal);
    if (r.text !== "hi") process.exit(3);`);
  assert.ok(mockRun.some((url) => url.endsWith("/dist/llm/mock.js")), "the mock module was loaded");
  const heavy = mockRun.filter((url) => /node_modules\/(ai|@ai-sdk)\//.test(url));
  assert.deepEqual(heavy, []);

  const realCreated = await modulesLoadedBy(`
    const { createLlmProvider } = await import(${JSON.stringify(llmIndex)});
    await createLlmProvider({ provider: "openai", model: "m", base_url: "http://127.0.0.1:9/v1", timeout_seconds: 1, max_retries: 0 });`);
  assert.deepEqual(realCreated.filter((url) => /node_modules\/(ai|@ai-sdk)\//.test(url)), []);
});
