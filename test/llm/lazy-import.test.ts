import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Runs `code` as an ES module in a fresh node (against dist/) and returns every module URL it loaded. */
async function modulesLoadedBy(code: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "forager-llm-import-"));
  try {
    const log = join(dir, "loaded.txt");
    await writeFile(
      join(dir, "hooks.mjs"),
      `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, result.url + "\\n");
  return result;
}`,
    );
    await writeFile(
      join(dir, "register.mjs"),
      `import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)});`,
    );
    await writeFile(log, "");
    const run = spawnSync(process.execPath, ["--import", pathToFileURL(join(dir, "register.mjs")).href, "--input-type=module", "-e", code], {
      cwd: root,
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(run.status, 0, run.stderr);
    return (await readFile(log, "utf8")).split("\n").filter(Boolean);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

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
