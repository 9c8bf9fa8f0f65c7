import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { plainAgent } from "./helpers.js";
import { redisSkip, useRedis } from "../helpers/redis-server.js";
import { RunLog, startCluster } from "./cluster-helpers.js";
import { waitFor } from "../helpers/wait.js";

const skip = redisSkip();
const api = (extra: Record<string, unknown>) => ({ id: "api", trigger_type: "api", ...extra });

describe("cluster queue: several runtimes on one Redis act as one", { skip }, () => {
  const redis = useRedis();

  test("work admitted on a node that takes no work runs on another, and the admitting node's waits see its result", async (t) => {
    const log = new RunLog();
    const cluster = await startCluster({
      redisUrl: redis.url,
      agents: [plainAgent("hand", [api({ max_concurrent: 4 })])],
      nodes: 2,
      execute: (node) => log.executor(node, () => 20),
    });
    t.after(() => cluster.stop());
    const [a] = cluster.nodes;
    // Node A stops taking jobs (what a stopping node does); its admissions still work.
    await cluster.queues[0]!.cancelAllQueued("test");
    const ids = await Promise.all([1, 2, 3, 4, 5].map((n) => a!.trigger("api", { n })));
    const results = await Promise.all(ids.map((id) => a!.waitForCompletion(id, { timeoutMs: 20_000 })));
    assert.deepEqual(results.map((r) => r?.status), ["completed", "completed", "completed", "completed", "completed"]);
    assert.deepEqual(new Set(log.runs.map((r) => r.node)), new Set(["n1"]));
    const nodeB = cluster.backends[1]!.nodeId;
    for (const r of results) {
      assert.equal(r?.node, nodeB);
      assert.equal(r?.attempt, 1);
    }
    const got = await a!.getExecution(ids[0]!);
    assert.equal(got?.status, "completed");
  });

  test("a runner that throws (a broken contract): the execution ends failed and recorded, its slot goes to the next one", async (t) => {
    const log = new RunLog();
    let calls = 0;
    const cluster = await startCluster({
      redisUrl: redis.url,
      agents: [plainAgent("broken", [api({ max_concurrent: 1, max_queued: 10 })])],
      nodes: 1,
      config: { max_concurrent_executions: 1 },
      execute: (node) => log.executor(node, () => 10),
      wrapRunner: (runner) => (job, stream, signal) => (++calls === 1 ? Promise.reject(new Error("a bug in the runner")) : runner(job, stream, signal)),
    });
    t.after(() => cluster.stop());
    const node = cluster.nodes[0]!;
    const first = await node.trigger("api", { n: 1 });
    const second = await node.trigger("api", { n: 2 });
    const failed = await node.waitForCompletion(first, { timeoutMs: 20_000 });
    assert.equal(failed?.status, "failed");
    assert.deepEqual(failed?.error, { code: "startup_failed", message: "a bug in the runner", node_id: null });
    assert.equal((await node.waitForCompletion(second, { timeoutMs: 20_000 }))?.status, "completed", "the next execution got the slot");
    await waitFor("the failed execution's record", async () => (await cluster.store.get(first))?.status === "failed", { timeoutMs: 10_000 });
  });

  test("max_concurrent and max_concurrent_executions hold across three nodes", async (t) => {
    const log = new RunLog();
    const cluster = await startCluster({
      redisUrl: redis.url,
      agents: [plainAgent("limits", [api({ max_concurrent: 2, max_queued: 100 }), { id: "other", trigger_type: "api", max_concurrent: 5, max_queued: 100 }])],
      nodes: 3,
      config: { max_concurrent_executions: 3 },
      execute: (node) => log.executor(node, () => 60),
    });
    t.after(() => cluster.stop());
    const ids = await Promise.all(
      Array.from({ length: 24 }, (_, i) => cluster.nodes[i % 3]!.trigger(i % 2 ? "api" : "other", { i })),
    );
    const results = await Promise.all(ids.map((id, i) => cluster.nodes[(i + 1) % 3]!.waitForCompletion(id, { timeoutMs: 30_000 })));
    assert.equal(results.filter((r) => r?.status === "completed").length, 24);
    assert.ok(log.maxOverlap((r) => r.entryPoint === "api") <= 2, `api overlap ${log.maxOverlap((r) => r.entryPoint === "api")}`);
    assert.ok(log.maxOverlap() <= 3, `overall overlap ${log.maxOverlap()}`);
    assert.ok(new Set(log.runs.map((r) => r.node)).size >= 2, "more than one node ran work");
  });

  test("a stopping node lets its running execution finish and leaves its queue to the others; past the grace period it cancels", async (t) => {
    const log = new RunLog();
    const cluster = await startCluster({
      redisUrl: redis.url,
      agents: [plainAgent("drain", [api({ max_concurrent: 1, overlap: "queue", max_queued: 10 })])],
      nodes: 2,
      execute: (node) => log.executor(node, () => "hold"),
    });
    t.after(() => cluster.stop());
    const first = await cluster.nodes[0]!.trigger("api", { n: 0 });
    await log.until("the first to run", (runs) => runs.length === 1);
    const owner = Number(log.runs[0]!.node.slice(1));
    const [stopping, other] = [cluster.nodes[owner]!, cluster.nodes[1 - owner]!];
    const queued = await Promise.all([1, 2, 3].map((n) => stopping.trigger("api", { n })));
    const stopped = stopping.stop({ graceMs: 30_000 });
    await waitFor("the node to be stopping", () => stopping.state === "stopping");
    log.release(first);
    await stopped;
    assert.equal((await other.getExecution(first))?.status, "completed", "the running execution finished within the grace period");
    for (const id of queued) {
      await log.until(`${id} to run`, (runs) => runs.some((r) => r.id === id));
      log.release(id);
      const result = await other.waitForCompletion(id, { timeoutMs: 20_000 });
      assert.equal(result?.status, "completed");
      assert.equal(result?.node, cluster.backends[1 - owner]!.nodeId, "run by the node still up");
    }

    // Past the grace period the running one is cancelled (reason shutdown); nothing queued is.
    const held = await other.trigger("api", { n: 4 });
    const waiting = await other.trigger("api", { n: 5 });
    await log.until("the held one to run", (runs) => runs.some((r) => r.id === held));
    await other.stop({ graceMs: 50 });
    const cancelled = await cluster.store.get(held);
    assert.equal(cancelled?.status, "cancelled");
    assert.equal(cancelled?.error?.reason, "shutdown");
    assert.equal((await cluster.store.get(waiting))?.status, "queued", "queued work stays queued in Redis for the next node");
  });

  test("Redis unreachable while admitting: redis_unavailable, nothing reported admitted; admission works again once it is back", async (t) => {
    const log = new RunLog();
    const cluster = await startCluster({
      redisUrl: redis.url,
      agents: [plainAgent("gone", [api({ max_concurrent: 2 })])],
      nodes: 1,
      execute: (node) => log.executor(node, () => 5),
    });
    t.after(() => cluster.stop());
    const [node] = cluster.nodes;
    await node!.waitForCompletion(await node!.trigger("api", {}), { timeoutMs: 10_000 });
    await redis.kill();
    try {
      await assert.rejects(node!.submit({ entryPoint: "api", input: { lost: true } }), (err: Error & { code?: string }) => {
        assert.equal(err.code, "redis_unavailable");
        return true;
      });
    } finally {
      await redis.restart();
    }
    const id = await waitFor("a trigger to be admitted again", () => node!.trigger("api", { back: true }).catch(() => undefined), { stepMs: 200 });
    assert.equal((await node!.waitForCompletion(id, { timeoutMs: 20_000 }))?.status, "completed");
  });
});
