import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FencedStateStore, StaleFenceError } from "../../src/storage/fenced-state.js";
import { MemoryStateStore } from "../../src/storage/state.js";
import { Mutex } from "../../src/runtime/limiter.js";

describe("FencedStateStore", () => {
  test("a holder's writes land while its fence is current and are refused with stale_fence once the mutex is granted again", async () => {
    const inner = new MemoryStateStore();
    const mutex = new Mutex();
    const fences: Record<string, number> = {};
    mutex.request("first", (fence) => (fences.first = fence));
    mutex.request("second", (fence) => (fences.second = fence));
    const first = new FencedStateStore(inner, "bot", fences.first!, () => mutex.fence);
    assert.deepEqual(await first.write("bot", { n: 1 }), { n: 1 });

    mutex.release("first");
    const second = new FencedStateStore(inner, "bot", fences.second!, () => mutex.fence);
    await assert.rejects(first.write("bot", { n: 99 }), (err: unknown) => {
      assert.ok(err instanceof StaleFenceError);
      assert.equal(err.code, "stale_fence");
      assert.match(err.message, /agent "bot" refused: it carries fence 1, .* fence 2/);
      return true;
    });
    assert.deepEqual(await inner.read("bot"), { n: 1 }, "the refused write changed nothing");
    assert.deepEqual(await second.write("bot", { n: 2 }), { n: 2 });
    assert.deepEqual(await first.read("bot"), { n: 2 }, "reads are not fenced");
  });

  test("another agent's state passes through unchecked", async () => {
    const inner = new MemoryStateStore();
    const stale = new FencedStateStore(inner, "bot", 1, () => 5);
    assert.deepEqual(await stale.write("other", { k: "v" }), { k: "v" });
    await assert.rejects(stale.write("bot", { k: "v" }), /stale|fence 1/);
  });
});
