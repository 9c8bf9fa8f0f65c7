import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { EventBus } from "../../src/events/bus.js";
import type { ForagerEvent } from "../../src/events/types.js";
import { FakeClock } from "../../src/util/clock.js";

function warnRecorder() {
  const warnings: { obj: Record<string, unknown>; msg: string }[] = [];
  return { warnings, logger: { warn: (obj: Record<string, unknown>, msg: string) => warnings.push({ obj, msg }) } as never };
}

describe("EventBus", () => {
  test("publish fills id, timestamp and missing fields, and returns before any subscriber runs", async () => {
    const clock = new FakeClock(Date.UTC(2026, 10, 23, 10, 15));
    const bus = new EventBus({ clock });
    const seen: ForagerEvent[] = [];
    bus.subscribe((e) => {
      seen.push(e);
    });
    const event = bus.publish({ type: "custom", execution_id: "exec_1" });
    assert.equal(seen.length, 0, "delivery must not happen inside publish");
    assert.match(event.id, /^evt_[0-9A-Z]{26}$/);
    assert.equal(event.timestamp, "2026-11-23T10:15:00.000Z");
    assert.equal(event.graph_id, null);
    assert.equal(event.node_id, null);
    assert.equal(event.execution_id, "exec_1");
    assert.deepEqual(event.data, {});
    await bus.drain();
    assert.deepEqual(seen, [event]);
  });

  test("each subscriber gets events in publish order, even when its handler is async", async () => {
    const bus = new EventBus();
    const got: number[] = [];
    bus.subscribe(async (e) => {
      // Earlier events wait longer: order must still hold.
      await new Promise((r) => setTimeout(r, 5 - (e.data.n as number)));
      got.push(e.data.n as number);
    });
    for (let n = 0; n < 5; n++) bus.publish({ type: "custom", data: { n } });
    await bus.drain();
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
  });

  test("a throwing and a rejecting subscriber are logged and counted; others still get every event", async () => {
    const { warnings, logger } = warnRecorder();
    const bus = new EventBus({ logger });
    const good: string[] = [];
    bus.subscribe(() => {
      throw new Error("boom");
    });
    bus.subscribe(async () => {
      throw new Error("async boom");
    });
    bus.subscribe((e) => {
      good.push(e.type);
    });
    bus.publish({ type: "node_started" });
    bus.publish({ type: "node_completed" });
    await bus.drain();
    assert.deepEqual(good, ["node_started", "node_completed"]);
    assert.equal(bus.stats().subscriber_errors, 4);
    assert.equal(warnings.length, 4);
    assert.equal(warnings[0]!.obj.event, "node_started");
  });

  test("a slow subscriber blocks neither publish nor the other subscribers", async () => {
    const bus = new EventBus();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slowGot: number[] = [];
    const fastGot: number[] = [];
    bus.subscribe(async (e) => {
      await gate;
      slowGot.push(e.data.n as number);
    });
    bus.subscribe((e) => {
      fastGot.push(e.data.n as number);
    });
    for (let n = 0; n < 3; n++) bus.publish({ type: "custom", data: { n } });
    // Let a few turns pass: the fast subscriber finishes while the slow one waits.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(fastGot, [0, 1, 2]);
    assert.deepEqual(slowGot, []);
    assert.equal(bus.stats().queued_deliveries, 2, "the slow subscriber holds two undelivered events");
    release();
    await bus.drain();
    assert.deepEqual(slowGot, [0, 1, 2]);
  });

  test("unsubscribe stops delivery, including events already queued", async () => {
    const bus = new EventBus();
    const got: string[] = [];
    const off = bus.subscribe((e) => {
      got.push(e.type);
    });
    bus.publish({ type: "timer_fired" });
    await bus.drain();
    bus.publish({ type: "timer_skipped" });
    off();
    off();
    bus.publish({ type: "custom" });
    await bus.drain();
    assert.deepEqual(got, ["timer_fired"]);
    assert.equal(bus.stats().subscriptions, 0);
  });

  test("filters by type, graph, stream and execution", async () => {
    const bus = new EventBus();
    const byType: string[] = [];
    const byGraph: string[] = [];
    const byStreamAndExec: string[] = [];
    bus.subscribe((e) => void byType.push(e.id), { types: ["execution_failed"] });
    bus.subscribe((e) => void byGraph.push(e.id), { graph_id: "triage" });
    bus.subscribe((e) => void byStreamAndExec.push(e.id), { stream_id: "api", execution_id: "exec_2" });
    const a = bus.publish({ type: "execution_failed", graph_id: "triage", stream_id: "api", execution_id: "exec_1" });
    const b = bus.publish({ type: "node_started", graph_id: "other", stream_id: "api", execution_id: "exec_2" });
    const c = bus.publish({ type: "node_started", graph_id: "triage", stream_id: "timer", execution_id: "exec_2" });
    await bus.drain();
    assert.deepEqual(byType, [a.id]);
    assert.deepEqual(byGraph, [a.id, c.id]);
    assert.deepEqual(byStreamAndExec, [b.id]);
    assert.deepEqual(
      bus.history({ execution_id: "exec_2" }).map((e) => e.id),
      [b.id, c.id],
    );
  });

  test("in one process, local and cluster subscribers see the same events", async () => {
    const bus = new EventBus();
    const local: string[] = [];
    const cluster: string[] = [];
    bus.subscribe((e) => void local.push(e.id), undefined, { scope: "local" });
    bus.subscribe((e) => void cluster.push(e.id), undefined, { scope: "cluster" });
    const ids = [bus.publish({ type: "node_started" }).id, bus.publish({ type: "timer_fired" }).id];
    await bus.drain();
    assert.deepEqual(local, ids);
    assert.deepEqual(cluster, ids);
  });

  test("history is bounded, oldest first, and counts what it dropped", () => {
    const bus = new EventBus({ historySize: 3 });
    for (let n = 0; n < 5; n++) bus.publish({ type: n % 2 ? "node_started" : "node_completed", data: { n } });
    assert.deepEqual(
      bus.history().map((e) => e.data.n),
      [2, 3, 4],
    );
    assert.deepEqual(
      bus.history(undefined, 2).map((e) => e.data.n),
      [3, 4],
    );
    assert.deepEqual(
      bus.history({ types: ["node_completed"] }).map((e) => e.data.n),
      [2, 4],
    );
    const stats = bus.stats();
    assert.equal(stats.total_events, 5);
    assert.equal(stats.dropped_from_history, 2);
    assert.deepEqual(stats.events_by_type, { node_completed: 3, node_started: 2 });
  });

  test("events published by a handler are delivered after the current ones, and drain waits for them", async () => {
    const bus = new EventBus();
    const got: string[] = [];
    bus.subscribe((e) => {
      got.push(e.type);
      if (e.type === "execution_started") bus.publish({ type: "execution_completed" });
    });
    bus.publish({ type: "execution_started" });
    bus.publish({ type: "node_started" });
    await bus.drain();
    assert.deepEqual(got, ["execution_started", "node_started", "execution_completed"]);
  });
});
