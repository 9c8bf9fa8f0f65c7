import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createBackend, InProcessMutexes, type MutexSource } from "../../src/runtime/backend.js";
import { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import { InProcessLimiter } from "../../src/runtime/limiter.js";
import { FileIngestLog, noIngestLog } from "../../src/storage/ingest-log.js";
import { FileKeyStore, MemoryKeyStore } from "../../src/storage/keys.js";
import { MemorySessionStore } from "../../src/storage/memory.js";
import { FileSessionStore } from "../../src/storage/sessions.js";
import { FileStateStore, MemoryStateStore } from "../../src/storage/state.js";
import { silentLogger } from "../../src/logging/index.js";
import { FakeClock, systemClock } from "../../src/util/clock.js";
import { waitFor } from "../helpers/wait.js";
import { fakeExecutor, plainAgent, tempDir } from "./helpers.js";

const deps = { clock: systemClock, logger: silentLogger() };
const config = { max_concurrent_executions: 7, execution_result_max: 100, cache_ttl: 60 };

describe("createBackend", () => {
  test("a storage path gives the file backend, none the memory backend; the limiter has max_concurrent_executions slots", async (t) => {
    const dir = await tempDir(t);
    const file = createBackend(config, { ...deps, storagePath: dir });
    assert.equal(file.kind, "file");
    assert.ok(file.store instanceof FileSessionStore);
    assert.ok(file.state instanceof FileStateStore);
    assert.ok(file.keys instanceof FileKeyStore);
    assert.ok(file.ingestLog instanceof FileIngestLog);
    assert.ok(file.limiter instanceof InProcessLimiter);
    assert.equal(file.limiter.max, 7);
    await file.close();
    const memory = createBackend(config, deps);
    assert.equal(memory.kind, "memory");
    assert.ok(memory.store instanceof MemorySessionStore);
    assert.ok(memory.state instanceof MemoryStateStore);
    assert.ok(memory.keys instanceof MemoryKeyStore);
    assert.equal(memory.ingestLog, noIngestLog);
  });

  test("parts handed in are used as they are, and close() leaves them open", async () => {
    let closed = 0;
    const keys = new MemoryKeyStore();
    Object.assign(keys, { close: async () => void closed++ });
    const store = new MemorySessionStore();
    const limiter = new InProcessLimiter(2);
    const backend = createBackend(config, { ...deps, keys, store, limiter });
    assert.equal(backend.keys, keys);
    assert.equal(backend.store, store);
    assert.equal(backend.limiter, limiter);
    await backend.close();
    assert.equal(closed, 0, "a key store passed in is the caller's to close");
  });

  test("the mutex source gives one mutex per agent, the same one each time", () => {
    const mutexes = new InProcessMutexes();
    assert.equal(mutexes.forAgent("a"), mutexes.forAgent("a"));
    assert.notEqual(mutexes.forAgent("a"), mutexes.forAgent("b"));
  });
});

describe("AgentRuntime over a backend", () => {
  test("records go to the backend's store, and synchronized entry points take the backend's agent mutex", async () => {
    const inner = new InProcessMutexes();
    const asked: string[] = [];
    const mutexes: MutexSource = {
      forAgent(agent) {
        asked.push(agent);
        return inner.forAgent(agent);
      },
    };
    const clock = new FakeClock(Date.now());
    const backend = createBackend(config, { ...deps, clock, mutexes });
    const fake = fakeExecutor(1000, clock);
    const runtime = new AgentRuntime({
      agent: plainAgent("sync", [{ id: "api", trigger_type: "api", isolation_level: "synchronized", max_concurrent: 2 }]),
      backend,
      clock,
      execute: fake.execute,
    });
    assert.equal(runtime.store, backend.store);
    await runtime.start();
    const first = await runtime.trigger("api", { n: 1 });
    const second = await runtime.trigger("api", { n: 2 });
    assert.equal(inner.forAgent("sync").active, 1, "the second waits for the agent's mutex");
    assert.equal(inner.forAgent("sync").waiting, 1);
    // The executor's timers are on the fake clock: each run ends only when the test moves time.
    for (const id of [first, second]) {
      await waitFor(`${id} to run`, () => fake.started.some((o) => o.executionId === id));
      await clock.advance(1000);
    }
    await waitFor("both to finish", () => fake.finished.length === 2);
    assert.deepEqual(fake.finished, [first, second]);
    assert.equal(fake.maxRunning, 1);
    await runtime.waitForCompletion(second);
    assert.ok(asked.includes("sync"));
    assert.equal((await backend.store.get(second))?.status, "completed");
    await runtime.stop({ graceMs: 0 });
    assert.equal(inner.forAgent("sync").active, 0);
  });

  test("a backend and separate stores together are refused with one clear error", () => {
    const backend = createBackend(config, deps);
    assert.throws(() => new AgentRuntime({ agent: plainAgent("x"), backend, store: new MemorySessionStore() }), /pass either a backend or storagePath\/store\/state\/keys\/limiter, not both/);
  });
});
