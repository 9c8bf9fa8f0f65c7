import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ClockTickSource } from "../../src/runtime/tick-source.js";
import { FakeClock } from "../../src/util/clock.js";

const T0 = Date.parse("2026-06-01T10:00:00Z");
const MIN = 60_000;

function recording(clock: FakeClock) {
  const calls: { key: string; scheduledAtMs: number; nowMs: number }[] = [];
  const due = (key: string) => (scheduledAtMs: number) => void calls.push({ key, scheduledAtMs, nowMs: clock.now() });
  return { calls, due };
}

describe("ClockTickSource", () => {
  test("calls due once at the armed time, not before", async () => {
    const clock = new FakeClock(T0);
    const ticks = new ClockTickSource(clock);
    const { calls, due } = recording(clock);
    ticks.arm("a/tick", T0 + 5 * MIN, due("a/tick"));
    await clock.advance(5 * MIN - 1);
    assert.deepEqual(calls, []);
    await clock.advance(1);
    assert.deepEqual(calls, [{ key: "a/tick", scheduledAtMs: T0 + 5 * MIN, nowMs: T0 + 5 * MIN }]);
    assert.deepEqual(ticks.armed, []);
    await clock.advance(10 * MIN);
    assert.equal(calls.length, 1);
  });

  test("a time already past is due at once", async () => {
    const clock = new FakeClock(T0);
    const ticks = new ClockTickSource(clock);
    const { calls, due } = recording(clock);
    ticks.arm("a/tick", T0 - MIN, due("a/tick"));
    await clock.advance(0);
    assert.deepEqual(calls, [{ key: "a/tick", scheduledAtMs: T0 - MIN, nowMs: T0 }]);
  });

  test("arming a key again replaces its pending tick; other keys keep theirs", async () => {
    const clock = new FakeClock(T0);
    const ticks = new ClockTickSource(clock);
    const { calls, due } = recording(clock);
    ticks.arm("a/tick", T0 + MIN, due("a/tick"));
    ticks.arm("b/tick", T0 + 2 * MIN, due("b/tick"));
    ticks.arm("a/tick", T0 + 3 * MIN, due("a/tick"));
    assert.equal(clock.pendingCount, 2);
    await clock.advance(3 * MIN);
    assert.deepEqual(calls.map((c) => [c.key, c.scheduledAtMs]), [["b/tick", T0 + 2 * MIN], ["a/tick", T0 + 3 * MIN]]);
  });

  test("disarm drops the pending tick and leaves the clock with no timer", async () => {
    const clock = new FakeClock(T0);
    const ticks = new ClockTickSource(clock);
    const { calls, due } = recording(clock);
    ticks.arm("a/tick", T0 + MIN, due("a/tick"));
    ticks.disarm("a/tick");
    ticks.disarm("never/armed");
    assert.equal(clock.pendingCount, 0);
    assert.deepEqual(ticks.armed, []);
    await clock.advance(2 * MIN);
    assert.deepEqual(calls, []);
  });

  test("a wait longer than one setTimeout allows (about 24.8 days) is done in steps and due on time", async () => {
    const clock = new FakeClock(T0);
    const ticks = new ClockTickSource(clock);
    const { calls, due } = recording(clock);
    const at = T0 + 60 * 86_400_000;
    ticks.arm("yearly/tick", at, due("yearly/tick"));
    await clock.advance(2 ** 31 - 1);
    assert.deepEqual(calls, [], "the first step is not the tick");
    assert.deepEqual(ticks.armed, ["yearly/tick"]);
    await clock.set(at - 1);
    assert.deepEqual(calls, []);
    await clock.set(at);
    assert.deepEqual(calls, [{ key: "yearly/tick", scheduledAtMs: at, nowMs: at }]);
  });
});
