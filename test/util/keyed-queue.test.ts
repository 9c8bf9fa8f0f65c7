import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { KeyedQueue } from "../../src/util/keyed-queue.js";
import { deferred } from "../../src/util/deferred.js";

// deferred(): a promise settled from outside, so a test decides when each task ends.

/** Lets every promise callback queued so far run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("KeyedQueue", () => {
  test("tasks of one key run one at a time, in the order queued", async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const gates = [deferred(), deferred(), deferred()];
    const runs = gates.map((gate, i) =>
      queue.run("a", async () => {
        log.push(`start ${i}`);
        await gate.promise;
        log.push(`end ${i}`);
        return i;
      }),
    );
    await settle();
    assert.deepEqual(log, ["start 0"], "the second task waits for the first");
    // Finishing out of order changes nothing: 2 cannot start before 1.
    gates[2]!.resolve();
    gates[0]!.resolve();
    await settle();
    assert.deepEqual(log, ["start 0", "end 0", "start 1"]);
    gates[1]!.resolve();
    assert.deepEqual(await Promise.all(runs), [0, 1, 2]);
    assert.deepEqual(log, ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]);
  });

  test("different keys run concurrently", async () => {
    const queue = new KeyedQueue();
    const gate = deferred();
    const started: string[] = [];
    const a = queue.run("a", async () => {
      started.push("a");
      await gate.promise;
    });
    const b = queue.run("b", async () => {
      started.push("b");
      return "b done";
    });
    assert.equal(await b, "b done", "b does not wait for a");
    assert.deepEqual(started, ["a", "b"]);
    assert.ok(queue.busy("a"));
    gate.resolve();
    await a;
  });

  test("a failed task rejects its own caller only; the next one still runs", async () => {
    const queue = new KeyedQueue();
    const first = queue.run("k", async () => {
      throw new Error("disk full");
    });
    const second = queue.run("k", () => "ran");
    const third = queue.run("k", () => {
      throw new Error("sync throw");
    });
    await assert.rejects(first, /disk full/);
    assert.equal(await second, "ran");
    await assert.rejects(third, /sync throw/);
    await queue.idle("k");
  });

  test("idle waits for what was queued before it, never rejects, and the key is dropped afterwards", async () => {
    const queue = new KeyedQueue<number>();
    const gate = deferred();
    let done = false;
    const failing = queue.run(1, async () => {
      await gate.promise;
      done = true;
      throw new Error("boom");
    });
    failing.catch(() => undefined);
    let idle = false;
    const waiting = queue.idle(1).then(() => (idle = true));
    await settle();
    assert.equal(idle, false);
    assert.equal(queue.size, 1);
    gate.resolve();
    await waiting;
    assert.ok(done, "idle resolved only after the task settled");
    await settle();
    assert.equal(queue.busy(1), false);
    assert.equal(queue.size, 0);
    // An idle key: resolves at once.
    await queue.idle(2);
  });

  test("idleAll waits for every key", async () => {
    const queue = new KeyedQueue();
    const gates = [deferred(), deferred()];
    const ended: number[] = [];
    gates.forEach((gate, i) =>
      void queue.run(`k${i}`, async () => {
        await gate.promise;
        ended.push(i);
      }),
    );
    let all = false;
    const waiting = queue.idleAll().then(() => (all = true));
    gates[1]!.resolve();
    await settle();
    assert.equal(all, false, "one key still busy");
    gates[0]!.resolve();
    await waiting;
    assert.deepEqual(ended.sort(), [0, 1]);
  });

  test("a task that queues another under its own key does not run alongside it", async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    let inner: Promise<void> | undefined;
    await queue.run("k", async () => {
      log.push("outer start");
      inner = queue.run("k", () => {
        log.push("inner");
      });
      await settle();
      log.push("outer end");
    });
    await inner;
    assert.deepEqual(log, ["outer start", "outer end", "inner"]);
  });
});
