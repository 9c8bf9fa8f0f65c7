import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { EventInit } from "../../src/events/types.js";
import { silentLogger } from "../../src/logging/index.js";
import { EntryPointStream } from "../../src/runtime/stream.js";
import type { TickSource } from "../../src/runtime/tick-source.js";
import { TimerScheduler } from "../../src/runtime/timers.js";
import type { TriggerOutcome } from "../../src/runtime/types.js";
import { MemoryKeyStore } from "../../src/storage/keys.js";
import { FakeClock } from "../../src/util/clock.js";
import { plainAgent } from "./helpers.js";

const T0 = Date.parse("2026-06-01T10:00:00Z");
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A tick source that only records what it is asked: ticks come from the test calling `tick()`. */
class ManualTicks implements TickSource {
  readonly armed = new Map<string, number>();
  arm(key: string, atMs: number): void {
    this.armed.set(key, atMs);
  }
  disarm(key: string): void {
    this.armed.delete(key);
  }
}

function setup(config: Record<string, unknown>, options: { keys?: MemoryKeyStore; outcome?: TriggerOutcome } = {}) {
  const clock = new FakeClock(T0);
  const keys = options.keys ?? new MemoryKeyStore({ clock });
  const agent = plainAgent("ticker", [{ id: "tick", trigger_type: "timer", trigger_config: config }]);
  const stream = new EntryPointStream(agent, agent.entry_points[0]!);
  const published: EventInit[] = [];
  const fired: Record<string, unknown>[] = [];
  const host = {
    clock,
    keys,
    logger: silentLogger(),
    paused: false,
    active: false,
    get timersPaused() {
      return host.paused;
    },
    publish: (init: EventInit) => void published.push(init),
    agentActive: () => host.active,
    fire: async (_stream: EntryPointStream, input: Record<string, unknown>): Promise<TriggerOutcome> => {
      fired.push(input);
      return options.outcome ?? { status: "queued", execution_id: `ex-${fired.length}`, session_id: `s-${fired.length}` };
    },
  };
  const ticks = new ManualTicks();
  const scheduler = new TimerScheduler(host, ticks);
  scheduler.add(stream);
  return { clock, keys, host, stream, scheduler, ticks, published, fired };
}

const types = (published: EventInit[]) => published.map((e) => [e.type, e.data?.reason]);

describe("TimerScheduler.tick (what a due tick does, whatever the tick source)", () => {
  test("start arms the first tick on the tick source and fires nothing by itself", async () => {
    const t = setup({ interval_minutes: 5 });
    await t.scheduler.startWithCatchUp();
    assert.deepEqual([...t.ticks.armed], [["ticker/tick", T0 + 5 * MIN]]);
    await t.clock.advance(20 * MIN);
    assert.deepEqual(t.fired, [], "the clock alone fires nothing: only the tick source does");
  });

  test("a due tick writes the watermark, fires, publishes timer_fired and arms the next one", async () => {
    const t = setup({ interval_minutes: 5 });
    await t.scheduler.startWithCatchUp();
    await t.clock.set(T0 + 5 * MIN);
    await t.scheduler.tick("ticker/tick", T0 + 5 * MIN);
    assert.deepEqual(t.fired, [{ event: { source: "timer", reason: "scheduled", scheduled_at: iso(T0 + 5 * MIN), fired_at: iso(T0 + 5 * MIN) } }]);
    assert.deepEqual(types(t.published), [["timer_fired", "scheduled"]]);
    assert.equal(await t.keys.get("timer_watermark", "ticker/tick"), iso(T0 + 5 * MIN));
    assert.equal(t.ticks.armed.get("ticker/tick"), T0 + 10 * MIN);
    const stats = t.scheduler.stats()["ticker/tick"]!;
    assert.deepEqual([stats.fired, stats.skipped, stats.next_run_at], [1, 0, iso(T0 + 10 * MIN)]);
  });

  test("paused and agent_active ticks are skipped, yet the watermark moves", async () => {
    const t = setup({ interval_minutes: 5, idle_timeout_seconds: 60 });
    await t.scheduler.startWithCatchUp();
    t.host.paused = true;
    await t.clock.set(T0 + 5 * MIN);
    await t.scheduler.tick("ticker/tick", T0 + 5 * MIN);
    t.host.paused = false;
    t.host.active = true;
    await t.clock.set(T0 + 10 * MIN);
    await t.scheduler.tick("ticker/tick", T0 + 10 * MIN);
    assert.deepEqual(t.fired, []);
    assert.deepEqual(types(t.published), [["timer_skipped", "paused"], ["timer_skipped", "agent_active"]]);
    assert.equal(await t.keys.get("timer_watermark", "ticker/tick"), iso(T0 + 10 * MIN));
    assert.equal(t.scheduler.stats()["ticker/tick"]!.skipped, 2);
  });

  test("a tick that arrives whole periods late reports the stalled ticks as missed, fires once, and re-anchors", async () => {
    const t = setup({ interval_minutes: 5 });
    await t.scheduler.startWithCatchUp();
    await t.clock.set(T0 + 17 * MIN);
    await t.scheduler.tick("ticker/tick", T0 + 5 * MIN);
    assert.deepEqual(types(t.published), [["timer_skipped", "missed"], ["timer_fired", "scheduled"]]);
    assert.equal(t.published[0]!.data?.count, 2, "the ticks at 10 and 15 minutes");
    assert.equal(t.fired.length, 1);
    assert.equal(t.ticks.armed.get("ticker/tick"), T0 + 20 * MIN);
  });

  test("a refused fire is a skip with the refusal's reason", async () => {
    const t = setup({ interval_minutes: 5 }, { outcome: { status: "skipped", reason: "overlap: skip" } });
    await t.scheduler.startWithCatchUp();
    await t.clock.set(T0 + 5 * MIN);
    await t.scheduler.tick("ticker/tick", T0 + 5 * MIN);
    assert.deepEqual(types(t.published), [["timer_skipped", "overlap: skip"]]);
    assert.equal(t.scheduler.stats()["ticker/tick"]!.fired, 0);
  });

  test("a tick for a timer not started, removed or stopped does nothing", async () => {
    const t = setup({ interval_minutes: 5 });
    await t.scheduler.tick("ticker/tick", T0 + 5 * MIN);
    await t.scheduler.startWithCatchUp();
    await t.scheduler.tick("nobody/tick", T0 + 5 * MIN);
    await t.scheduler.stop();
    assert.deepEqual([...t.ticks.armed], [], "stop disarms every timer");
    await t.scheduler.tick("ticker/tick", T0 + 5 * MIN);
    assert.deepEqual(t.fired, []);
    assert.deepEqual(t.published, []);
    assert.equal(await t.keys.get("timer_watermark", "ticker/tick"), undefined);
  });

  test("startup catch-up: with catch_up last, the newest tick missed since the watermark fires once at start", async () => {
    const keys = new MemoryKeyStore({ clock: new FakeClock(T0) });
    await keys.set("timer_watermark", "ticker/tick", iso(T0 - 17 * MIN), 86_400);
    const t = setup({ interval_minutes: 5, catch_up: "last" }, { keys });
    await t.scheduler.startWithCatchUp();
    assert.deepEqual(types(t.published), [["timer_skipped", "missed"], ["timer_fired", "catch_up"]]);
    assert.equal(t.published[0]!.data?.count, 3);
    assert.equal(t.fired.length, 1);
    assert.equal((t.fired[0]!.event as Record<string, unknown>).scheduled_at, iso(T0 - 2 * MIN));
    assert.equal(t.ticks.armed.get("ticker/tick"), T0 + 3 * MIN, "the schedule stays anchored on the watermark");
  });
});
