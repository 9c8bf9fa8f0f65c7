/**
 * Retention holds at all times (SPEC 4.4): sessions are pruned as they
 * finish, a batch at a time in the background, so disk stays at about
 * `max_sessions` whatever the rate; `max_age` is applied as executions
 * finish too, not only by the periodic pass. Counts and a fake clock, no sleeps.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import { retentionSlack } from "../../src/runtime/retention-schedule.js";
import { FakeClock } from "../../src/util/clock.js";
import { functionAgent, tempDir } from "./helpers.js";

async function sessionFolders(storage: string, agent: string): Promise<number> {
  try {
    return (await readdir(join(storage, agent, "sessions"))).length;
  } catch {
    return 0;
  }
}

/** Waits for a retention pass in flight (the runtime runs them in the background). */
function retentionIdle(runtime: AgentRuntime): Promise<void> {
  return (runtime as unknown as { retention: { idle(): Promise<void> } }).retention.idle();
}

test("max_sessions 20, 300 executions at max_concurrent 10: never more than 20 + slack session folders on disk", async (t) => {
  const dir = await tempDir(t);
  const storage = join(dir, "storage");
  const agent = await functionAgent(dir, "busy", [{ id: "api", trigger_type: "api", max_concurrent: 10, max_queued: 100 }], undefined, {
    runtime: { session_retention: { max_sessions: 20 } },
  });
  const runtime = new AgentRuntime({ agent, storagePath: storage });
  await runtime.start();
  const bound = 20 + retentionSlack(20);
  let most = 0;
  for (let batch = 0; batch < 30; batch++) {
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => runtime.trigger("api", { n: batch * 10 + i })));
    const results = await Promise.all(ids.map((id) => runtime.waitForCompletion(id, { timeoutMs: 30_000 })));
    assert.deepEqual(results.map((r) => r?.status), Array(10).fill("completed"));
    await retentionIdle(runtime);
    const folders = await sessionFolders(storage, "busy");
    most = Math.max(most, folders);
    assert.ok(folders <= bound, `after ${(batch + 1) * 10} executions: ${folders} session folders (bound ${bound})`);
  }
  await runtime.stop();
  const listed = await new AgentRuntime({ agent, storagePath: storage }).listExecutions({ agent: "busy" });
  assert.ok(listed.length <= bound, `the index lists ${listed.length}`);
  assert.equal(await sessionFolders(storage, "busy"), listed.length, "index and folders agree");
  assert.ok(most >= 20, "sessions were kept up to the limit");
});

test("max_age is applied as executions finish, without waiting for the periodic pass", async (t) => {
  const dir = await tempDir(t);
  const storage = join(dir, "storage");
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const agent = await functionAgent(dir, "aging", [{ id: "api", trigger_type: "api", max_concurrent: 5 }], undefined, {
    runtime: { session_retention: { max_age: 60, max_sessions: 1000 } },
  });
  const runtime = new AgentRuntime({ agent, storagePath: storage, clock });
  await runtime.start();
  const run = async (n: number) => {
    const ids = await Promise.all(Array.from({ length: n }, () => runtime.trigger("api")));
    for (const id of ids) assert.equal((await runtime.waitForCompletion(id, { timeoutMs: 30_000 }))?.status, "completed");
  };
  await run(5);
  await retentionIdle(runtime);
  assert.equal(await sessionFolders(storage, "aging"), 5);
  // Two minutes later, with the periodic pass's timer off: only the
  // finishing execution can drive the pass.
  (runtime as unknown as { retention: { disarm(): void } }).retention.disarm();
  await clock.set(clock.now() + 120_000);
  assert.equal(await sessionFolders(storage, "aging"), 5, "nothing removed while nothing finished");
  await run(1);
  await retentionIdle(runtime);
  assert.equal(await sessionFolders(storage, "aging"), 1, "the five sessions older than max_age are gone");
  await runtime.stop();
});
