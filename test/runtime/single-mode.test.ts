// Single execution mode is strict (SPEC 4.1): with max_concurrent 1
// (cancel_previous), a new trigger cancels the running execution, and the
// new one starts only once the old one's code has really returned, even
// when that code ignores its abort signal for a while.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import { functionAgent, tempDir } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";

for (const entryPoint of [
  { id: "api", trigger_type: "api", max_concurrent: 1 },
  { id: "api", trigger_type: "api", max_concurrent: 2, overlap: "cancel_previous" },
]) {
  test(`cancel_previous (max_concurrent ${entryPoint.max_concurrent}): the successor starts after the victim's code returned`, async (t) => {
    const dir = await tempDir(t);
    const log = join(dir, "intervals.log");
    // A held execution runs until aborted, then goes on for 1.8 s more,
    // ignoring the abort (inside the 2 s kill grace); the successor returns
    // at once. No timer decides the order, so a slow machine cannot either.
    const source = `
import { appendFileSync } from "node:fs";
export default async function ({ input, signal }) {
  appendFileSync(${JSON.stringify(log)}, "start " + input.n + " " + Date.now() + "\\n");
  if (input.hold) {
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve));
    await new Promise((resolve) => setTimeout(resolve, 1800));
  }
  appendFileSync(${JSON.stringify(log)}, "end " + input.n + " " + Date.now() + "\\n");
  return { done: true };
}
`;
    const agent = await functionAgent(dir, "single", [entryPoint], source);
    const runtime = new AgentRuntime({ agent, storagePath: join(dir, "storage") });
    await runtime.start();
    t.after(() => runtime.stop({ graceMs: 0 }));
    // Fill every slot; the next trigger then replaces the oldest running execution (n = 1).
    const running: string[] = [];
    for (let n = 1; n <= entryPoint.max_concurrent; n++) {
      running.push(await runtime.trigger("api", { n, hold: true }));
      await waitFor(`execution ${n}'s code to start`, () => existsSync(log) && readFileSync(log, "utf8").includes(`start ${n} `));
    }
    const next = entryPoint.max_concurrent + 1;
    const successor = await runtime.trigger("api", { n: next });
    const victim = await runtime.waitForCompletion(running[0]!, { timeoutMs: 30_000 });
    const replaced = await runtime.waitForCompletion(successor, { timeoutMs: 30_000 });
    assert.equal(victim?.status, "cancelled");
    assert.equal(replaced?.status, "completed");
    const at = (what: string) => Number(/ (\d+)$/.exec(readFileSync(log, "utf8").split("\n").find((l) => l.startsWith(what + " "))!)![1]);
    assert.ok(at(`start ${next}`) >= at("end 1"), `execution ${next} started at ${at(`start ${next}`)}, before the victim returned at ${at("end 1")}`);
  });
}
