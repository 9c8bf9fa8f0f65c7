// A timer's idle_timeout_seconds across the cluster (SPEC 4.1): a tick
// taken by one node skips `agent_active` while an execution of the agent
// runs on another node and was active less than the timeout ago; a node
// that vanished without ending its executions stops counting once it is
// no longer live; each node writes an agent's activity at most once a second.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ForagerEvent } from "../../src/events/types.js";
import { silentLogger } from "../../src/logging/index.js";
import type { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import { ClusterActivity } from "../../src/runtime/cluster/cluster-activity.js";
import { NodeMembership } from "../../src/runtime/cluster/nodes-membership.js";
import type { TimerScheduler } from "../../src/runtime/timers.js";
import { RedisLink } from "../../src/storage/redis/connection.js";
import { FakeClock, systemClock } from "../../src/util/clock.js";
import { redisSkip, useRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait.js";
import { RunLog, startCluster } from "./cluster-helpers.js";
import { freshPrefix } from "./cluster-nodes.js";
import { plainAgent } from "./helpers.js";

const skip = redisSkip();

function busy(idleSeconds: number, withWork = true) {
  return plainAgent("busy", [
    ...(withWork ? [{ id: "work", trigger_type: "api", max_concurrent: 1 }] : []),
    // An hour apart: no scheduled tick comes during a test; the test hands the node its ticks.
    { id: "tick", trigger_type: "timer", max_concurrent: 5, trigger_config: { interval_minutes: 60, idle_timeout_seconds: idleSeconds } },
  ]);
}

/** Every event of a node's bus. */
function recordEvents(node: AgentRuntime): ForagerEvent[] {
  const events: ForagerEvent[] = [];
  node.subscribe((e) => void events.push(e), undefined, { scope: "local" });
  return events;
}

let lastScheduled = 0;
/** Hands `node` a tick of busy/tick scheduled now, as the cluster's tick worker would; resolves with what it did. */
async function tickOn(node: AgentRuntime, events: ForagerEvent[]): Promise<{ scheduledAt: number; fired?: ForagerEvent; skipped?: ForagerEvent }> {
  const scheduledAt = (lastScheduled = Math.max(lastScheduled + 1, Date.now()));
  await (node["timers"] as TimerScheduler).tick("busy/tick", scheduledAt);
  await node.bus.drain();
  const iso = new Date(scheduledAt).toISOString();
  const of = (type: string) => events.find((e) => e.type === type && e.data.scheduled_at === iso);
  return { scheduledAt, fired: of("timer_fired"), skipped: of("timer_skipped") };
}

describe("cluster: a timer's idle_timeout_seconds sees every node's executions", { skip }, () => {
  const redis = useRedis();

  test("an execution on one node makes a tick taken by the other skip agent_active, until it is quiet for the timeout", async () => {
    const log = new RunLog();
    const cluster = await startCluster({
      redisUrl: redis.url,
      agents: [busy(2)],
      nodes: 2,
      execute: (node) => log.executor(node, (o) => (o.entryPoint.id === "work" ? "hold" : 0)),
    });
    try {
      const events = cluster.nodes.map(recordEvents);
      const id = await cluster.nodes[0]!.trigger("work", {});
      await log.until("the execution runs", (runs) => runs.some((r) => r.id === id));
      const run = log.runs.find((r) => r.id === id)!;
      const other = run.node === "n0" ? 1 : 0;
      const otherQueue = cluster.queues[other]!;
      assert.equal(otherQueue.idleSeconds("busy"), null, "nothing of busy runs on the node that takes the tick");
      await waitFor("the other node sees the execution", async () => (await otherQueue.clusterIdleSeconds!("busy")) !== null);
      // Its /stats says so too: the agent is not idle, though nothing of it runs there.
      const idleThere = (await cluster.nodes[other]!.getStats()).streams["busy/tick"]!.agent_idle_seconds;
      assert.equal(typeof idleThere, "number", `agent_idle_seconds on the other node: ${idleThere}`);

      const first = await tickOn(cluster.nodes[other]!, events[other]!);
      assert.equal(first.fired, undefined);
      assert.equal(first.skipped?.data.reason, "agent_active");

      // The execution keeps running but is quiet: once that lasts 2 s, a tick fires.
      const ticks: Awaited<ReturnType<typeof tickOn>>[] = [];
      const fired = await waitFor(
        "a tick that fires",
        async () => {
          const t = await tickOn(cluster.nodes[other]!, events[other]!);
          ticks.push(t);
          return t.fired;
        },
        { stepMs: 200 },
      );
      const firedAt = Date.parse(fired.data.fired_at as string);
      // The node counts the start a moment before the executor's first line (run.startMs): a little slack for a loaded machine.
      assert.ok(firedAt - run.startMs >= 1750, `fired ${firedAt - run.startMs} ms after the execution's last event (idle_timeout_seconds 2)`);
      assert.equal(run.endMs, undefined, "the execution still runs: quiet is enough");
      for (const t of ticks.slice(0, -1)) assert.equal(t.skipped?.data.reason, "agent_active", "every tick before was skipped as agent_active");
      log.release(id);
    } finally {
      await cluster.stop();
    }
  });

  test("a node that vanished without ending its execution stops counting once it is no longer live", async () => {
    const log = new RunLog();
    const cluster = await startCluster({ redisUrl: redis.url, agents: [busy(300, false)], nodes: 1, execute: (node) => log.executor(node, () => 0) });
    // The vanishing node: its own link, membership (1 s deadline) and activity, like a node whose process is then killed.
    const ghostLink = new RedisLink({ url: redis.url, prefix: cluster.prefix });
    const ghostId = "ghost:1:dead";
    const membership = new NodeMembership(ghostLink, { nodeId: ghostId, logger: silentLogger(), heartbeatMs: 100, ttlMs: 1_000 });
    const ghost = new ClusterActivity({ link: ghostLink, nodeId: ghostId, clock: systemClock, logger: silentLogger() });
    const node = cluster.nodes[0]!;
    const events = recordEvents(node);
    try {
      await membership.join();
      ghost.started("busy");
      await ghost.settled();
      const before = await tickOn(node, events);
      assert.equal(before.skipped?.data.reason, "agent_active", "the other node's running execution counts while it is live");

      // Gone without a word: no more heartbeats, no decrement (SIGKILL, a lost machine).
      await ghostLink.close();
      const goneAt = Date.now();
      const fired = await waitFor("a tick that fires", async () => (await tickOn(node, events)).fired, { stepMs: 200 });
      const firedAt = Date.parse(fired.data.fired_at as string);
      assert.ok(firedAt - goneAt < 10_000, `counted ${firedAt - goneAt} ms after it vanished (its deadline was 1 s)`);
      const reader = new RedisLink({ url: redis.url, prefix: cluster.prefix });
      const stored = await (await reader.commands()).hget(`${cluster.prefix}:agent:busy`, `${ghostId}:running`);
      await reader.close();
      assert.equal(stored, "1", "its count was never decremented: liveness alone retired it");
      await log.until("the fired tick's execution runs", (runs) => runs.length === 1);
    } finally {
      await membership.leave();
      await cluster.stop();
    }
  });

  test("a node writes an agent's activity at most once a second, the latest values; Redis failing never throws", async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const prefix = freshPrefix("activity");
    const linkA = new RedisLink({ url: redis.url, prefix });
    const linkB = new RedisLink({ url: redis.url, prefix });
    const a = new ClusterActivity({ link: linkA, nodeId: "host:1:aaaa", clock, logger: silentLogger() });
    const b = new ClusterActivity({ link: linkB, nodeId: "host:2:bbbb", clock, logger: silentLogger() });
    const redisA = await linkA.commands();
    await redisA.zadd(`${prefix}:nodes`, Date.now() + 600_000, "host:1:aaaa");
    const hsets = async () => Number(/cmdstat_hset:calls=(\d+)/.exec(await redisA.info("commandstats"))?.[1] ?? 0);
    const stored = async () => Number(await redisA.hget(`${prefix}:agent:busy`, "host:1:aaaa:last"));
    try {
      const t0 = clock.now();
      const writesBefore = await hsets();
      a.started("busy");
      await a.settled();
      assert.equal(await stored(), t0, "the first change is written at once");
      assert.equal(await b.clusterIdleSeconds("busy"), 0);
      assert.equal(await b.clusterIdleSeconds("other"), null);

      for (let i = 1; i <= 100; i++) {
        await clock.advance(9);
        a.touch("busy");
      }
      await a.settled();
      assert.equal(await stored(), t0, "events within the second are not written yet");
      assert.equal(await b.clusterIdleSeconds("busy"), 0.9, "the other node sees up to a second late");
      await clock.set(t0 + 1000);
      await a.settled();
      assert.equal(await stored(), t0 + 900, "the end of the second writes the latest event");
      assert.equal((await hsets()) - writesBefore, 2, "101 changes, two writes");

      await clock.advance(4000);
      assert.equal(await b.clusterIdleSeconds("busy"), 4.1);
      a.ended("busy");
      await a.settled();
      assert.equal(await b.clusterIdleSeconds("busy"), null, "an ended execution counts no more");

      // Redis unreachable: changes stay in memory, the idle check falls back to this node's own view.
      await linkA.close();
      a.started("busy");
      a.touch("busy");
      await a.settled();
      assert.equal(await a.clusterIdleSeconds("busy"), 0);
    } finally {
      await a.close();
      await b.close();
      await linkA.close();
      await linkB.close();
    }
  });
});
