import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createBackend } from "../../src/runtime/backend.js";
import { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import { silentLogger } from "../../src/logging/index.js";
import { FencedStateStore } from "../../src/storage/fenced-state.js";
import { FakeClock } from "../../src/util/clock.js";
import { waitFor } from "../helpers/wait.js";
import { fakeExecutor, plainAgent } from "./helpers.js";

const config = { max_concurrent_executions: 4, execution_result_max: 100, cache_ttl: 60 };

describe("synchronized executions see a fenced state store", () => {
  test("each gets its mutex grant's fence; the former holder's writes are refused once the next one holds the mutex", async () => {
    const clock = new FakeClock(Date.now());
    const backend = createBackend(config, { clock, logger: silentLogger() });
    const fake = fakeExecutor(1000, clock);
    const runtime = new AgentRuntime({
      agent: plainAgent("sync", [
        { id: "locked", trigger_type: "api", isolation_level: "synchronized", max_concurrent: 2 },
        { id: "open", trigger_type: "api", isolation_level: "shared" },
      ]),
      backend,
      clock,
      execute: fake.execute,
    });
    await runtime.start();
    const first = await runtime.trigger("locked", {});
    const second = await runtime.trigger("locked", {});
    const open = await runtime.trigger("open", {});
    await waitFor("the first and the shared one to run", () => fake.started.length === 2);
    const optionsOf = (id: string) => fake.started.find((o) => o.executionId === id)!;
    assert.equal(optionsOf(open).state, backend.state, "a shared entry point writes the raw store");
    const firstState = optionsOf(first).state;
    assert.ok(firstState instanceof FencedStateStore);
    assert.equal(firstState.fence, 1);
    await firstState.write("sync", { turn: "first" });

    await clock.advance(1000);
    await waitFor("the second to run", () => fake.started.some((o) => o.executionId === second));
    const secondState = optionsOf(second).state;
    assert.ok(secondState instanceof FencedStateStore);
    assert.equal(secondState.fence, 2);
    await assert.rejects(firstState.write("sync", { turn: "zombie" }), /stale_fence|refused/);
    assert.deepEqual(await secondState.write("sync", { turn: "second" }), { turn: "second" });
    assert.deepEqual(await backend.state.read("sync"), { turn: "second" });

    await clock.advance(1000);
    await runtime.waitForCompletion(second);
    await runtime.stop({ graceMs: 0 });
  });
});
