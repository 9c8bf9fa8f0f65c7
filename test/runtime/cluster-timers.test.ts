import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { ForagerEvent } from "../../src/events/types.js";
import { redisSkip, useRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait.js";
import { fakeExecutor, plainAgent } from "./helpers.js";
import { freshPrefix, startNode, type TestNode } from "./cluster-nodes.js";

const skip = redisSkip();

function ticker(config: Record<string, unknown>) {
  return plainAgent("ticker", [{ id: "tick", trigger_type: "timer", max_concurrent: 10, trigger_config: config }]);
}

const of = (nodes: TestNode[], type: string) => nodes.flatMap((n) => n.events.filter((e) => e.type === type));
const at = (e: ForagerEvent) => Date.parse(e.data.scheduled_at as string);

describe("cluster timers (3 runtimes on one Redis)", { skip }, () => {
  const redis = useRedis();

  test("an interval of 1 s on three nodes fires each tick once, on one node, one execution per scheduled_at", async () => {
    const prefix = freshPrefix("interval");
    const fake = fakeExecutor(20);
    const nodes = await Promise.all([0, 1, 2].map(() => startNode(redis.url, prefix, [ticker({ interval_seconds: 1 })], { execute: fake.execute })));
    try {
      await waitFor("five ticks fired", () => of(nodes, "timer_fired").length >= 5, { timeoutMs: 20_000 });
      await Promise.all(nodes.map((n) => n.stop()));
      const fired = of(nodes, "timer_fired");
      const times = fired.map(at).sort((a, b) => a - b);
      assert.equal(new Set(times).size, times.length, `a tick fired twice: ${times.map((t) => new Date(t).toISOString()).join(", ")}`);
      for (let i = 1; i < times.length; i++) assert.equal(times[i]! - times[i - 1]!, 1000, "ticks stay 1 s apart (anchored, none missing)");
      const inputs = fake.started.map((o) => (o.input as { event: { scheduled_at: string } }).event.scheduled_at).sort();
      assert.deepEqual(inputs, times.map((t) => new Date(t).toISOString()), "one execution per scheduled_at");
      assert.deepEqual(of(nodes, "timer_skipped"), []);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  test("a 6-field cron in a time zone ticks on whole seconds, each once, by forager's cron rule on every node", async () => {
    const prefix = freshPrefix("cron");
    const fake = fakeExecutor(10);
    const nodes = await Promise.all([0, 1].map(() => startNode(redis.url, prefix, [ticker({ cron: "*/2 * * * * *", timezone: "Europe/Berlin" })], { execute: fake.execute })));
    try {
      await waitFor("three ticks fired", () => of(nodes, "timer_fired").length >= 3, { timeoutMs: 20_000 });
      await Promise.all(nodes.map((n) => n.stop()));
      const times = of(nodes, "timer_fired").map(at);
      assert.equal(new Set(times).size, times.length, "no tick fired twice");
      for (const t of times) assert.equal(t % 2000, 0, `${new Date(t).toISOString()} is on an even second`);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  test("pause-timers on one node pauses every node; resume on another fires again", async () => {
    const prefix = freshPrefix("pause");
    const fake = fakeExecutor(10);
    const nodes = await Promise.all([0, 1].map(() => startNode(redis.url, prefix, [ticker({ interval_seconds: 1 })], { execute: fake.execute })));
    const [a, b] = nodes as [TestNode, TestNode];
    try {
      await waitFor("a tick fired", () => of(nodes, "timer_fired").length >= 1, { timeoutMs: 20_000 });
      await a.runtime.pauseTimers();
      const pausedAt = Date.now();
      assert.equal(a.runtime.timersPaused, true);
      await waitFor("the other node sees the pause", () => b.runtime.timersPaused, { timeoutMs: 10_000 });
      await waitFor("two ticks skipped as paused", () => of(nodes, "timer_skipped").filter((e) => e.data.reason === "paused").length >= 2, { timeoutMs: 20_000 });
      // A tick claimed before the pause may still fire; none scheduled a full period after it does.
      assert.deepEqual(of(nodes, "timer_fired").filter((e) => at(e) >= pausedAt + 1000).map((e) => e.data.scheduled_at), []);
      const stats = await b.runtime.getStats();
      assert.equal(stats.timers_paused, true);
      assert.equal(stats.timers["ticker/tick"]!.paused, true);
      await b.runtime.resumeTimers();
      const resumedAt = Date.now();
      await waitFor("a tick fired after resume", () => of(nodes, "timer_fired").some((e) => at(e) > resumedAt), { timeoutMs: 20_000 });
      await waitFor("the first node sees the resume", () => !a.runtime.timersPaused, { timeoutMs: 10_000 });
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  for (const catchUp of ["none", "last"] as const) {
    test(`stop every node, start one: catch_up ${catchUp} behaves as on one process, once`, async () => {
      const prefix = freshPrefix(`catchup-${catchUp}`);
      const fake = fakeExecutor(10);
      const agent = () => [ticker({ interval_seconds: 1, catch_up: catchUp })];
      const first = await Promise.all([0, 1].map(() => startNode(redis.url, prefix, agent(), { execute: fake.execute })));
      await waitFor("two ticks fired", () => of(first, "timer_fired").length >= 2, { timeoutMs: 20_000 });
      await Promise.all(first.map((n) => n.stop()));
      const lastFired = Math.max(...of(first, "timer_fired").map(at));
      // The whole cluster is down for 3 s: three ticks or more are missed.
      await sleep(3_000);
      const again = await startNode(redis.url, prefix, agent(), { execute: fake.execute });
      try {
        const startedAt = Date.now();
        await waitFor("a scheduled tick after the restart", () => again.events.some((e) => e.type === "timer_fired" && e.data.reason === "scheduled" && at(e) > startedAt), { timeoutMs: 20_000 });
        const missed = again.events.filter((e) => e.type === "timer_skipped" && e.data.reason === "missed");
        assert.equal(missed.length, 1, "the missed ticks are reported once (the overdue tick job is not a second report)");
        assert.ok((missed[0]!.data.count as number) >= 3, `count ${String(missed[0]!.data.count)}`);
        const catchUps = again.events.filter((e) => e.type === "timer_fired" && e.data.reason === "catch_up");
        if (catchUp === "none") assert.deepEqual(catchUps, []);
        else {
          assert.equal(catchUps.length, 1);
          assert.ok(at(catchUps[0]!) > lastFired && at(catchUps[0]!) <= startedAt, "the newest missed tick fires");
        }
        const all = [...of(first, "timer_fired"), ...again.events.filter((e) => e.type === "timer_fired")].map(at);
        assert.equal(new Set(all).size, all.length, "no tick fired twice");
      } finally {
        await again.stop();
      }
    });
  }

  test("run_immediately runs on the node that starts the cluster, not on a node joining it", async () => {
    const prefix = freshPrefix("immediately");
    const fake = fakeExecutor(10);
    const agent = () => [ticker({ interval_minutes: 60, run_immediately: true })];
    const a = await startNode(redis.url, prefix, agent(), { execute: fake.execute });
    const b = await startNode(redis.url, prefix, agent(), { execute: fake.execute });
    try {
      await waitFor("the first node fired at start", () => a.events.some((e) => e.type === "timer_fired" && e.data.reason === "run_immediately"));
      await b.runtime.bus.drain();
      assert.deepEqual(b.events.filter((e) => e.type === "timer_fired"), [], "a node joining a running cluster does not fire at its start");
      const next = (await b.runtime.getStats()).timers["ticker/tick"]!.next_run_at;
      assert.ok(next && Date.parse(next) > Date.now() + 50 * 60_000, `next_run_at from the shared schedule: ${next}`);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
