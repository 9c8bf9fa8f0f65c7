import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ForagerEvent } from "../../src/events/types.js";
import type { ExecuteGraph } from "../../src/graph/types.js";
import { emptyUsage, type ExecutionResult } from "../../src/result.js";
import { MemoryKeyStore } from "../../src/storage/keys.js";
import { redisSkip, useRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait.js";
import { startCluster } from "./cluster-helpers.js";
import { freshPrefix, startNode } from "./cluster-nodes.js";
import { fakeExecutor, plainAgent } from "./helpers.js";

const skip = redisSkip();

const worker = () => plainAgent("worker", [{ id: "api", trigger_type: "api", max_concurrent: 10 }]);
const guardian = () => plainAgent("guardian", [{ id: "on_fail", trigger_type: "event", max_concurrent: 10, trigger_config: { event_types: ["execution_failed"] } }]);

/** Runs of `worker` fail, every other agent's complete; `runs` gets "agent:execution id[:id of the triggering execution]" per start. */
function failingWorker(runs: string[]): ExecuteGraph {
  return async (o) => {
    const cause = (o.input as { event?: ForagerEvent }).event?.execution_id;
    runs.push(`${o.agent.name}:${o.executionId}${cause ? `:${cause}` : ""}`);
    const ids = { graph_id: o.agent.name, stream_id: o.entryPoint.id, execution_id: o.executionId, session_id: o.sessionId };
    o.bus.publish({ type: "execution_started", ...ids });
    const failed = o.agent.name === "worker";
    const now = new Date().toISOString();
    const result: ExecutionResult = {
      schema_version: 1,
      execution_id: o.executionId,
      session_id: o.sessionId,
      agent: o.agent.name,
      entry_point: o.entryPoint.id,
      status: failed ? "failed" : "completed",
      success: !failed,
      output: {},
      error: failed ? { code: "node_failed", message: "boom" } : null,
      path: ["work"],
      steps_executed: 1,
      usage: emptyUsage(),
      started_at: now,
      finished_at: now,
      duration_ms: 0,
    };
    await o.store?.save({ ...result, input: o.input, queued_at: o.queuedAt ?? now });
    o.bus.publish({ type: failed ? "execution_failed" : "execution_completed", ...ids, data: { status: result.status, error: result.error } });
    return result;
  };
}

describe("cluster events", { skip }, () => {
  const redis = useRedis();

  test("a cluster-scope subscriber sees the other nodes' events once; local subscribers and history see only this node's", async () => {
    const prefix = freshPrefix("feed");
    const agent = () => [plainAgent("hand", [{ id: "api", trigger_type: "api" }])];
    const a = await startNode(redis.url, prefix, agent(), { execute: fakeExecutor(5).execute });
    const b = await startNode(redis.url, prefix, agent(), { execute: fakeExecutor(5).execute });
    try {
      const cluster: ForagerEvent[] = [];
      const local: ForagerEvent[] = [];
      a.runtime.subscribe((e) => void cluster.push(e), { types: ["execution_completed"] }, { scope: "cluster" });
      a.runtime.subscribe((e) => void local.push(e), { types: ["execution_completed"] }, { scope: "local" });
      // Subscribed before the feed reader started: wait until it reads (an event of B arrives).
      const fromB = await b.runtime.trigger("api", { from: "b" });
      await waitFor("node B's completion seen on node A (cluster scope)", () => cluster.some((e) => e.execution_id === fromB), { timeoutMs: 10_000 });
      const fromA = await a.runtime.trigger("api", { from: "a" });
      const again = await b.runtime.trigger("api", { from: "b2" });
      await waitFor("both later completions seen", () => cluster.some((e) => e.execution_id === fromA) && cluster.some((e) => e.execution_id === again), { timeoutMs: 10_000 });
      await a.runtime.bus.drain();
      assert.deepEqual(cluster.map((e) => e.execution_id).sort(), [fromA, fromB, again].sort(), "each event once: A's own from its bus, B's from the feed");
      assert.deepEqual(local.map((e) => e.execution_id), [fromA], "local scope: this node's events only");
      assert.equal(a.runtime.bus.history({ types: ["execution_completed"] }).length, 1, "history stays this node's");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test("a failure published again on another node (its execution re-run) does not trigger the guardian twice", async () => {
    const prefix = freshPrefix("guardian");
    const runs: string[] = [];
    const keys = new MemoryKeyStore();
    const agents = () => [worker(), guardian()];
    const a = await startNode(redis.url, prefix, agents(), { execute: failingWorker(runs), keys });
    const b = await startNode(redis.url, prefix, agents(), { execute: failingWorker(runs), keys });
    try {
      const source = await a.runtime.trigger("api", {}, { agent: "worker" });
      await waitFor("the guardian ran", () => runs.some((r) => r.startsWith("guardian:")), { timeoutMs: 10_000 });
      const failed = a.events.find((e) => e.type === "execution_failed" && e.execution_id === source)!;
      // The same execution's failure again, as its re-run on node B would publish it (a new event id).
      const { id: _first, ...repeat } = failed;
      b.runtime.bus.publish(repeat);
      await waitFor("node B skipped the repeat", () => b.logs.some((l) => l.msg === "event trigger skipped" && String(l.reason).includes("already triggered guardian/on_fail")), { timeoutMs: 10_000 });
      assert.deepEqual(runs.filter((r) => r.startsWith("guardian:")).length, 1);
      // Another failure is another trigger.
      const second = await b.runtime.trigger("api", {}, { agent: "worker" });
      await waitFor("the guardian ran for the second failure", () => runs.filter((r) => r.startsWith("guardian:")).length === 2, { timeoutMs: 10_000 });
      const causes = runs.filter((r) => r.startsWith("guardian:")).map((r) => r.split(":")[2]);
      assert.deepEqual(causes, [source, second]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test("on the BullMQ queue, the guardian runs exactly once per failure, whichever nodes run them", async (t) => {
    const runs: string[] = [];
    const cluster = await startCluster({ redisUrl: redis.url, agents: [worker(), guardian()], nodes: 3, execute: () => failingWorker(runs) });
    t.after(() => cluster.stop());
    const sources = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => cluster.nodes[i % 3]!.trigger("api", { i }, { agent: "worker" })));
    await Promise.all(sources.map((id) => cluster.nodes[0]!.waitForCompletion(id, { timeoutMs: 20_000 })));
    // A source job completes only after its failure's admissions are recorded: the six guardians exist now.
    await waitFor("six guardian runs", () => runs.filter((r) => r.startsWith("guardian:")).length >= 6, { timeoutMs: 20_000 });
    const guardians = (await cluster.store.list({ agent: "guardian" })).map((s) => s.execution_id);
    const triggeredBy = await Promise.all(guardians.map(async (id) => ((await cluster.store.get(id))?.input as { event: ForagerEvent }).event.execution_id));
    assert.deepEqual([...triggeredBy].sort(), [...sources].sort(), "one guardian per failed execution");
  });
});
