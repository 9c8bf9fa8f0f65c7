import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { InProcessLimiter, InProcessMutexes, Mutex } from "../../src/runtime/limiter.js";

describe("InProcessLimiter holder ids and fences", () => {
  test("grants carry fences that grow with every grant, in FIFO order", () => {
    const limiter = new InProcessLimiter(2);
    const granted: Array<[string, number]> = [];
    const ask = (id: string) => limiter.request(id, (fence) => granted.push([id, fence]));
    ask("a");
    ask("b");
    ask("c");
    ask("d");
    assert.deepEqual(granted, [["a", 1], ["b", 2]]);
    assert.equal(limiter.active, 2);
    assert.equal(limiter.waiting, 2);
    assert.equal(limiter.release("b"), true);
    assert.equal(limiter.release("a"), true);
    assert.deepEqual(granted, [["a", 1], ["b", 2], ["c", 3], ["d", 4]]);
    assert.equal(limiter.fence, 4);
    assert.equal(limiter.fenceOf("c"), 3);
    assert.equal(limiter.fenceOf("a"), undefined);
  });

  test("a release for a holder that holds no slot returns false and leaves the count and the waiters alone", () => {
    const limiter = new InProcessLimiter(1);
    const granted: string[] = [];
    limiter.request("a", () => granted.push("a"));
    limiter.request("b", () => granted.push("b"));
    assert.equal(limiter.release("nobody"), false);
    assert.equal(limiter.release("b"), false, "a waiter does not hold a slot");
    assert.equal(limiter.active, 1);
    assert.equal(limiter.waiting, 1);
    assert.deepEqual(granted, ["a"], "nothing was granted past the cap");
    assert.equal(limiter.release("a"), true);
    assert.equal(limiter.release("a"), false, "a second release of the same holder frees nothing");
    assert.deepEqual(granted, ["a", "b"]);
    assert.equal(limiter.active, 1);
    assert.equal(limiter.waiting, 0);
  });

  test("a withdrawn request is skipped and its holder may ask again; a holder asks once at a time", () => {
    const limiter = new InProcessLimiter(1);
    const granted: Array<[string, number]> = [];
    limiter.request("a", (fence) => granted.push(["a", fence]));
    const withdraw = limiter.request("b", (fence) => granted.push(["b", fence]));
    assert.throws(() => limiter.request("a", () => {}), (err: Error & { code?: string }) => err.code === "duplicate_holder");
    assert.throws(() => limiter.request("b", () => {}), /already holds or waits/);
    assert.equal(withdraw(), true);
    assert.equal(withdraw(), false);
    assert.equal(limiter.waiting, 0);
    limiter.request("c", (fence) => granted.push(["c", fence]));
    limiter.request("b", (fence) => granted.push(["b", fence]));
    limiter.release("a");
    assert.deepEqual(granted, [["a", 1], ["c", 2]]);
    limiter.release("c");
    assert.deepEqual(granted, [["a", 1], ["c", 2], ["b", 3]]);
  });

  test("a mutex holds one at a time and each agent's mutex counts its own fences", () => {
    const mutexes = new InProcessMutexes();
    const a: Mutex = mutexes.forAgent("a");
    const fences: number[] = [];
    a.request("x", (fence) => fences.push(fence));
    a.request("y", (fence) => fences.push(fence));
    assert.deepEqual(fences, [1]);
    a.release("x");
    assert.deepEqual(fences, [1, 2]);
    assert.equal(a.fence, 2);
    mutexes.forAgent("b").request("z", (fence) => fences.push(fence));
    assert.deepEqual(fences, [1, 2, 1]);
  });
});
