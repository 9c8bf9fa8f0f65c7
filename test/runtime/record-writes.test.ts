// How many times an execution's record is written: once when admitted (as
// queued, or as running when it starts at once), once more when a queued one
// starts, and once at the end. Each write is a file replaced on disk, so an
// extra one costs every execution.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import { MemorySessionStore } from "../../src/storage/memory.js";
import type { ExecutionRecord } from "../../src/result.js";
import { functionAgent, tempDir } from "./helpers.js";

/** A memory store that remembers the status of every record write, per execution. */
class CountingStore extends MemorySessionStore {
  readonly writes = new Map<string, string[]>();
  override async save(record: ExecutionRecord): Promise<void> {
    this.writes.set(record.execution_id, [...(this.writes.get(record.execution_id) ?? []), record.status]);
    return super.save(record);
  }
}

test("an execution that starts at once is written twice (running, then final); a queued one three times", async (t) => {
  const dir = await tempDir(t);
  const gate = `${dir}/gate`;
  const agent = await functionAgent(
    dir,
    "counted",
    [{ id: "api", trigger_type: "api", max_concurrent: 1, overlap: "queue" }],
    `import { existsSync } from "node:fs";
export default async ({ input }) => {
  while (input.hold && !existsSync(${JSON.stringify(gate)})) await new Promise((r) => setTimeout(r, 5));
  return { done: true };
};`,
  );
  const store = new CountingStore();
  const runtime = new AgentRuntime({ agent, store });
  await runtime.start();
  t.after(() => runtime.stop({ graceMs: 0 }));
  const first = await runtime.trigger("api", { hold: true });
  const second = await runtime.trigger("api", {});
  await writeFile(gate, "");
  const r1 = await runtime.waitForCompletion(first);
  assert.equal(r1?.status, "completed", JSON.stringify(r1));
  assert.equal((await runtime.waitForCompletion(second))?.status, "completed");
  assert.deepEqual(store.writes.get(first), ["running", "completed"]);
  assert.deepEqual(store.writes.get(second), ["queued", "running", "completed"]);
});
