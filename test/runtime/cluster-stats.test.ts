import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { redisSkip, useRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait.js";
import { RunLog, startCluster } from "./cluster-helpers.js";
import { freshPrefix, startNode } from "./cluster-nodes.js";
import { fakeExecutor, plainAgent } from "./helpers.js";

const skip = redisSkip();

describe("cluster stats", { skip }, () => {
  const redis = useRedis();

  test("nodes lists every live node with host, pid, started_at and running; a node that stops leaves the list", async () => {
    const prefix = freshPrefix("nodes");
    const agent = () => [plainAgent("hand", [{ id: "api", trigger_type: "api", max_concurrent: 4 }])];
    const a = await startNode(redis.url, prefix, agent(), { execute: fakeExecutor(10).execute });
    // The second node's execution runs until the node stops (cancelled then).
    const b = await startNode(redis.url, prefix, agent(), { execute: fakeExecutor(120_000).execute });
    try {
      await b.runtime.trigger("api", {});
      const stats = await waitFor("both nodes listed, the second running one execution", async () => {
        const s = await a.runtime.getStats();
        return s.nodes?.length === 2 && s.nodes.find((n) => n.id === b.cluster.nodeId)?.running === 1 && s;
      }, { timeoutMs: 15_000 });
      const byId = new Map(stats.nodes!.map((n) => [n.id, n]));
      for (const node of [a, b]) {
        const info = byId.get(node.cluster.nodeId);
        assert.ok(info, `node ${node.cluster.nodeId} listed`);
        assert.equal(info.pid, process.pid);
        assert.equal(typeof info.host, "string");
        assert.ok(Date.parse(info.started_at) <= Date.now());
      }
      assert.equal(byId.get(a.cluster.nodeId)!.running, 0);
      assert.equal(typeof stats.uptime_seconds, "number", "uptime stays this node's");
      await b.stop();
      const after = await a.runtime.getStats();
      assert.deepEqual(after.nodes!.map((n) => n.id), [a.cluster.nodeId]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test("finished counts are the cluster's: each node counts what it finishes, every node reports the sum", async () => {
    const prefix = freshPrefix("counts");
    const agent = () => [plainAgent("hand", [{ id: "api", trigger_type: "api", max_concurrent: 4 }])];
    const nodes = await Promise.all([0, 1].map(() => startNode(redis.url, prefix, agent(), { execute: fakeExecutor(5).execute })));
    const [a, b] = nodes;
    try {
      const ids = [...(await Promise.all([1, 2].map(() => a!.runtime.trigger("api", {})))), ...(await Promise.all([1, 2, 3].map(() => b!.runtime.trigger("api", {}))))];
      await Promise.all(ids.map((id, i) => (i < 2 ? a! : b!).runtime.waitForCompletion(id, { timeoutMs: 10_000 })));
      for (const node of nodes) {
        await waitFor("five completed on every node's stats", async () => (await node.runtime.getStats()).streams["hand/api"]!.status_counts.completed === 5, { timeoutMs: 10_000 });
        await waitFor("the bus counters summed over the nodes", async () => (await node.runtime.getStats()).event_bus.events_by_type.execution_completed === 5, { timeoutMs: 10_000 });
      }
      assert.equal(a!.runtime.bus.stats().events_by_type.execution_completed, 2, "each bus counts its own");
      const summed = await a!.runtime.getStats();
      assert.equal(summed.event_bus.total_events, a!.runtime.bus.stats().total_events + b!.runtime.bus.stats().total_events);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  test("with the BullMQ queue, running and queued are the cluster's job counts", async (t) => {
    const log = new RunLog();
    const cluster = await startCluster({
      redisUrl: redis.url,
      agents: [plainAgent("hand", [{ id: "api", trigger_type: "api", max_concurrent: 2, max_queued: 10 }])],
      nodes: 2,
      execute: (node) => log.executor(node, () => "hold"),
    });
    t.after(() => cluster.stop());
    const [a, b] = cluster.nodes;
    const ids = await Promise.all([1, 2, 3].map((n) => a!.trigger("api", { n })));
    await log.until("two running", (runs) => runs.length === 2);
    const stats = await waitFor("running 2, queued 1 on the other node", async () => {
      const s = await b!.getStats();
      const c = s.streams["hand/api"]!.status_counts;
      return c.running === 2 && c.queued === 1 && s;
    }, { timeoutMs: 10_000 });
    assert.equal(stats.active_executions, 2);
    assert.equal(stats.queued_executions, 1);
    assert.equal(stats.streams["hand/api"]!.available_slots, 0);
    assert.deepEqual(new Set(stats.nodes!.map((n) => n.id)), new Set(cluster.backends.map((x) => x.nodeId)));
    for (const id of ids) log.release(id);
    await log.until("the third runs", (runs) => runs.length === 3);
    // Released until it ends: the run may not hold its release handle yet when it is seen starting.
    await waitFor("the third ended", () => (log.release(log.runs[2]!.id), log.runs[2]!.endMs !== undefined), { timeoutMs: 10_000 });
    await Promise.all(ids.map((id) => a!.waitForCompletion(id, { timeoutMs: 10_000 })));
    let last: unknown;
    await waitFor("three completed, none running", async () => {
      const c = (await a!.getStats()).streams["hand/api"]!.status_counts;
      last = c;
      return c.completed === 3 && c.running === 0 && c.queued === 0;
    }, { timeoutMs: 10_000 }).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(last)}`);
    });
  });
});
