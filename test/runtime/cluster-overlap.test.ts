// Overlap policies, synchronized state and cancel across several runtimes
// sharing one Redis (the nodes of one cluster).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { functionAgent, plainAgent, tempDir } from "./helpers.js";
import { redisSkip, useRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait.js";
import { RunLog, startCluster, type Cluster } from "./cluster-helpers.js";
import type { TriggerOutcome } from "../../src/runtime/types.js";

const skip = redisSkip();
const api = (extra: Record<string, unknown>) => ({ id: "api", trigger_type: "api", ...extra });

/** 10 triggers at once, split over the nodes. */
function burst(cluster: Cluster, n = 10): Promise<TriggerOutcome[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => cluster.nodes[i % cluster.nodes.length]!.submit({ entryPoint: "api", input: { i } })));
}

function admittedIds(outcomes: TriggerOutcome[]): string[] {
  return outcomes.flatMap((o) => ("execution_id" in o ? [o.execution_id] : []));
}

describe("cluster overlap policies, synchronized state and cancel", { skip }, () => {
  const redis = useRedis();

  for (const overlap of ["skip", "reject"] as const) {
    test(`overlap ${overlap}: of 10 simultaneous triggers over 3 nodes exactly one runs`, async (t) => {
      const log = new RunLog();
      const cluster = await startCluster({
        redisUrl: redis.url,
        agents: [plainAgent("busy", [api({ max_concurrent: 1, overlap })])],
        nodes: 3,
        execute: (node) => log.executor(node, () => "hold"),
      });
      t.after(() => cluster.stop());
      const outcomes = await burst(cluster);
      const admitted = admittedIds(outcomes);
      assert.equal(admitted.length, 1, JSON.stringify(outcomes));
      const refused = outcomes.filter((o) => o.status === (overlap === "skip" ? "skipped" : "rejected"));
      assert.equal(refused.length, 9);
      if (overlap === "reject") for (const o of refused) assert.ok("retry_after_seconds" in o && o.retry_after_seconds >= 1);
      await log.until("the admitted execution to start", (runs) => runs.length === 1);
      log.release(admitted[0]!);
      const done = await cluster.nodes[2]!.waitForCompletion(admitted[0]!, { timeoutMs: 20_000 });
      assert.equal(done?.status, "completed");
      assert.equal(log.runs.length, 1);
    });
  }

  test("cancel_previous: 10 simultaneous triggers over 3 nodes leave one running in the first one's session, never two at once", async (t) => {
    const log = new RunLog();
    const cluster = await startCluster({
      redisUrl: redis.url,
      agents: [plainAgent("single", [api({ max_concurrent: 1, overlap: "cancel_previous" })])],
      nodes: 3,
      execute: (node) => log.executor(node, () => "hold"),
    });
    t.after(() => cluster.stop());
    const outcomes = await burst(cluster);
    const ids = admittedIds(outcomes);
    assert.equal(ids.length, 10, JSON.stringify(outcomes));
    assert.equal(new Set(outcomes.map((o) => ("session_id" in o ? o.session_id : undefined))).size, 1, "every trigger continues one session");
    const cancelled = await waitFor("nine of ten to be cancelled", async () => {
      const records = await Promise.all(ids.map((id) => cluster.store.get(id)));
      const gone = records.filter((r): r is NonNullable<typeof r> => r?.status === "cancelled");
      return gone.length === 9 ? gone : undefined;
    });
    for (const r of cancelled) assert.equal(r.error?.reason, "cancel_previous");
    const survivor = ids.find((id) => !cancelled.some((r) => r.execution_id === id))!;
    await log.until("the survivor to run", (runs) => runs.some((r) => r.id === survivor));
    log.release(survivor);
    const done = await cluster.nodes[0]!.waitForCompletion(survivor, { timeoutMs: 20_000 });
    assert.equal(done?.status, "completed");
    assert.equal(log.maxOverlap(), 1, "never two at once");
  });

  test("a synchronized counter run 30 times across 3 nodes ends at exactly 30", async (t) => {
    const dir = await tempDir(t);
    const agent = await functionAgent(
      dir,
      "counter",
      [{ id: "inc", trigger_type: "api", isolation_level: "synchronized", max_concurrent: 10 }],
      `export default async ({ state }) => { await new Promise((r) => setTimeout(r, 2)); return { "state.counter": (state.counter ?? 0) + 1 }; };`,
    );
    agent.graph.nodes[0]!.output_keys = ["state.counter"];
    const cluster = await startCluster({ redisUrl: redis.url, agents: [agent], nodes: 3 });
    t.after(() => cluster.stop());
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => cluster.nodes[i % 3]!.trigger("inc")));
    const results = await Promise.all(ids.map((id, i) => cluster.nodes[(i + 2) % 3]!.waitForCompletion(id, { timeoutMs: 60_000 })));
    assert.deepEqual(results.map((r) => r?.status), Array(30).fill("completed"));
    assert.equal((await cluster.state.read("counter")).counter, 30);
    assert.ok(new Set(results.map((r) => r?.node)).size >= 2, "the increments ran on more than one node");
  });

  test("cancel on one node stops an execution running on another, and one still waiting in Redis", async (t) => {
    const log = new RunLog();
    const cluster = await startCluster({
      redisUrl: redis.url,
      agents: [plainAgent("long", [api({ max_concurrent: 1, overlap: "queue" })])],
      nodes: 2,
      execute: (node) => log.executor(node, () => "hold"),
    });
    t.after(() => cluster.stop());
    const [a] = cluster.nodes;
    await cluster.queues[0]!.cancelAllQueued("test");
    const running = await a!.trigger("api", { n: 1 });
    const waiting = await a!.trigger("api", { n: 2 });
    await log.until("the first to run on node B", (runs) => runs.some((r) => r.id === running && r.node === "n1"));
    const queued = await a!.cancel(waiting, "user");
    assert.equal(queued?.status, "cancelled");
    assert.equal(queued?.error?.reason, "user");
    const started = Date.now();
    const stopped = await a!.cancel(running, "user");
    assert.equal(stopped?.status, "cancelled");
    assert.ok(Date.now() - started < 1000, `cancelled in ${Date.now() - started} ms`);
    assert.equal(log.runs.find((r) => r.id === running)?.status, "cancelled");
    assert.equal(log.runs.some((r) => r.id === waiting), false, "the queued one never ran");
  });
});
