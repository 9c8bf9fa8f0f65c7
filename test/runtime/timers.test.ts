import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import type { ForagerEvent } from "../../src/events/types.js";
import { MemoryKeyStore } from "../../src/storage/keys.js";
import { FakeClock } from "../../src/util/clock.js";
import type { ToolResolver } from "../../src/tools/types.js";
import { fakeExecutor, plainAgent } from "./helpers.js";

const MIN = 60_000;
const noTools: ToolResolver = {
  get: async (name) => {
    throw new Error(`no tool ${name}`);
  },
  resolve: async () => [],
  close: async () => undefined,
};
const T0 = Date.parse("2026-06-01T10:00:00Z");

function timerAgent(config: Record<string, unknown>, name = "ticker") {
  return plainAgent(name, [{ id: "tick", trigger_type: "timer", max_concurrent: 5, trigger_config: config }]);
}

async function timerRuntime(config: Record<string, unknown>, options: { clock: FakeClock; runMs?: number; keys?: MemoryKeyStore }) {
  const fake = fakeExecutor(options.runMs ?? 1000, options.clock);
  const runtime = new AgentRuntime({ agent: timerAgent(config), clock: options.clock, execute: fake.execute, keys: options.keys, tools: noTools });
  const events: ForagerEvent[] = [];
  runtime.subscribe((e) => void events.push(e), { types: ["timer_fired", "timer_skipped"] });
  await runtime.start();
  const fired = () => events.filter((e) => e.type === "timer_fired");
  const skipped = () => events.filter((e) => e.type === "timer_skipped");
  const settle = async () => {
    await options.clock.advance(0);
    await runtime.bus.drain();
  };
  return { runtime, fake, events, fired, skipped, settle };
}

const at = (e: ForagerEvent) => e.data.scheduled_at as string;
const iso = (ms: number) => new Date(ms).toISOString();

describe("timers", () => {
  test("a 5-minute interval fires at 5, 10 and 15 minutes although each run takes 2 minutes", async () => {
    const clock = new FakeClock(T0);
    const t = await timerRuntime({ interval_minutes: 5 }, { clock, runMs: 2 * MIN });
    await clock.advance(15 * MIN);
    await t.settle();
    assert.deepEqual(t.fired().map(at), [iso(T0 + 5 * MIN), iso(T0 + 10 * MIN), iso(T0 + 15 * MIN)]);
    assert.deepEqual(t.fired().map((e) => e.data.fired_at), t.fired().map(at));
    const stats = (await t.runtime.getStats()).timers["ticker/tick"]!;
    assert.equal(stats.fired, 3);
    assert.equal(stats.next_run_at, iso(T0 + 20 * MIN));
    const input = t.fake.started[0]!.input as { event: Record<string, unknown> };
    assert.deepEqual(input.event, { source: "timer", reason: "scheduled", scheduled_at: iso(T0 + 5 * MIN), fired_at: iso(T0 + 5 * MIN) });
    await t.runtime.stop({ graceMs: 0 });
  });

  test("a tick while the agent is busy and recently active is skipped with reason agent_active", async () => {
    const clock = new FakeClock(T0);
    const t = await timerRuntime({ interval_minutes: 5, idle_timeout_seconds: 600 }, { clock, runMs: 7 * MIN });
    await clock.advance(15 * MIN);
    await t.settle();
    assert.deepEqual(t.fired().map(at), [iso(T0 + 5 * MIN), iso(T0 + 15 * MIN)]);
    assert.deepEqual(t.skipped().map((e) => [at(e), e.data.reason]), [[iso(T0 + 10 * MIN), "agent_active"]]);
    assert.equal((await t.runtime.getStats()).timers["ticker/tick"]!.skipped, 1);
    await t.runtime.stop({ graceMs: 0 });
  });

  test("paused timers skip their ticks and fire again after resume", async () => {
    const clock = new FakeClock(T0);
    const t = await timerRuntime({ interval_minutes: 5 }, { clock });
    await t.runtime.pauseTimers();
    assert.equal((await t.runtime.getStats()).timers["ticker/tick"]!.paused, true);
    await clock.advance(10 * MIN);
    await t.runtime.resumeTimers();
    await clock.advance(5 * MIN);
    await t.settle();
    assert.deepEqual(t.skipped().map((e) => e.data.reason), ["paused", "paused"]);
    assert.deepEqual(t.fired().map(at), [iso(T0 + 15 * MIN)]);
    await t.runtime.stop({ graceMs: 0 });
  });

  test("run_immediately fires once at start", async () => {
    const clock = new FakeClock(T0);
    const t = await timerRuntime({ interval_minutes: 5, run_immediately: true }, { clock });
    await t.settle();
    assert.deepEqual(t.fired().map((e) => [at(e), e.data.reason]), [[iso(T0), "run_immediately"]]);
    await t.runtime.stop({ graceMs: 0 });
  });

  test("cron 0 9 * * 1-5 in Europe/Berlin fires at local 09:00 on weekdays across the spring DST change", async () => {
    const clock = new FakeClock(Date.parse("2026-03-23T00:00:00Z"));
    const t = await timerRuntime({ cron: "0 9 * * 1-5", timezone: "Europe/Berlin" }, { clock });
    await clock.set(Date.parse("2026-04-01T00:00:00Z"));
    await t.settle();
    assert.deepEqual(t.fired().map(at), [
      "2026-03-23T08:00:00.000Z",
      "2026-03-24T08:00:00.000Z",
      "2026-03-25T08:00:00.000Z",
      "2026-03-26T08:00:00.000Z",
      "2026-03-27T08:00:00.000Z",
      // CEST from 29 March: 09:00 local is 07:00 UTC.
      "2026-03-30T07:00:00.000Z",
      "2026-03-31T07:00:00.000Z",
    ]);
    await t.runtime.stop({ graceMs: 0 });
  });

  test("a cron time in the skipped local hour fires nothing; in the repeated hour it fires once", async () => {
    const clock = new FakeClock(Date.parse("2026-03-27T12:00:00Z"));
    const t = await timerRuntime({ cron: "30 2 * * *", timezone: "Europe/Berlin" }, { clock });
    await clock.set(Date.parse("2026-03-31T00:00:00Z"));
    await t.settle();
    assert.deepEqual(t.fired().map(at), ["2026-03-28T01:30:00.000Z", "2026-03-30T00:30:00.000Z"]);
    await t.runtime.stop({ graceMs: 0 });

    const autumn = new FakeClock(Date.parse("2026-10-24T12:00:00Z"));
    const u = await timerRuntime({ cron: "30 2 * * *", timezone: "Europe/Berlin" }, { clock: autumn });
    await autumn.set(Date.parse("2026-10-27T00:00:00Z"));
    await u.settle();
    assert.deepEqual(u.fired().map(at), ["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]);
    await u.runtime.stop({ graceMs: 0 });
  });

  test("an interval keeps its real period across a repeated local hour", async () => {
    const clock = new FakeClock(Date.parse("2026-10-24T23:00:00Z"));
    const t = await timerRuntime({ interval_minutes: 30, timezone: "Europe/Berlin" }, { clock });
    await clock.set(Date.parse("2026-10-25T03:00:00Z"));
    await t.settle();
    const times = t.fired().map((e) => Date.parse(at(e)));
    assert.equal(times.length, 8);
    assert.ok(times.every((ms, i) => i === 0 || ms - times[i - 1]! === 30 * MIN));
    await t.runtime.stop({ graceMs: 0 });
  });

  for (const policy of ["last", "none"] as const) {
    test(`catch_up ${policy} after a 3 h downtime fires ${policy === "last" ? "exactly once" : "nothing"} for the missed ticks`, async () => {
      const clock = new FakeClock(T0);
      const keys = new MemoryKeyStore({ clock });
      const config = { interval_minutes: 30, catch_up: policy };
      const before = await timerRuntime(config, { clock, keys });
      await clock.advance(60 * MIN);
      await before.settle();
      assert.equal(before.fired().length, 2);
      await before.runtime.stop({ graceMs: 0 });

      await clock.advance(3 * 60 * MIN);
      const after = await timerRuntime(config, { clock, keys });
      await after.settle();
      const missed = after.skipped().filter((e) => e.data.reason === "missed");
      assert.equal(missed.length, 1);
      assert.equal(missed[0]!.data.count, 6);
      if (policy === "last") {
        assert.deepEqual(after.fired().map((e) => [at(e), e.data.reason]), [[iso(T0 + 4 * 60 * MIN), "catch_up"]]);
      } else {
        assert.equal(after.fired().length, 0);
      }
      // The schedule keeps its phase: the next tick is half an hour after the last missed one.
      assert.equal((await after.runtime.getStats()).timers["ticker/tick"]!.next_run_at, iso(T0 + 4 * 60 * MIN + 30 * MIN));
      await after.runtime.stop({ graceMs: 0 });
    });
  }

  test("registerEntryPoint takes the camelCase spec, and an invalid cron is an error there, not a silent no-op", async () => {
    const runtime = new AgentRuntime({ agent: plainAgent("camel") });
    runtime.registerEntryPoint({ id: "report", triggerType: "timer", triggerConfig: { cron: "0 9 * * 1-5", timezone: "Europe/Berlin" }, maxConcurrent: 1 });
    assert.equal((await runtime.getStats()).streams["camel/report"]!.max_concurrent, 1);
    assert.deepEqual(Object.keys((await runtime.getStats()).timers), ["camel/report"]);
    assert.throws(
      () => runtime.registerEntryPoint({ id: "bad", triggerType: "timer", triggerConfig: { cron: "61 * * * *" } }),
      /entry point "bad" of agent camel: invalid cron '61 \* \* \* \*': Invalid value for minute: 61/,
    );
    assert.throws(() => runtime.registerEntryPoint({ id: "x", entryNode: "missing" }), /entry_node "missing" is not a node/);
  });
});
