// A node killed mid-execution (SIGKILL of a process of its own): another
// node runs the execution again after lock_seconds + check_seconds, with
// attempt 2; with retries 0 it ends interrupted (worker_lost).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { plainAgent } from "./helpers.js";
import { redisSkip, useRedis } from "../helpers/redis-server.js";
import { RunLog, startCluster } from "./cluster-helpers.js";
import type { RedisLink } from "../../src/storage/redis/connection.js";
import { join } from "node:path";
import { sourceDir } from "../helpers/paths.js";

const skip = redisSkip();
// Run from the source tree (under tsx), also when this test runs from its build.
const fixture = join(sourceDir(import.meta.url), "cluster-node-fixture.ts");
const workerLoss = (retries: number) => ({ lock_seconds: 2, check_seconds: 1, retries });

interface Child {
  process: ChildProcess;
  /** Resolves with the first line matching `key`. */
  line(key: string): Promise<Record<string, unknown>>;
}

function spawnNode(t: { after(fn: () => void): void }, url: string, prefix: string, retries: number): Child {
  const child = spawn(process.execPath, ["--import", "tsx", fixture, url, prefix, "2", "1", String(retries)], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")));
  const lines: Record<string, unknown>[] = [];
  const waiting: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on("line", (text) => {
    try {
      lines.push(JSON.parse(text) as Record<string, unknown>);
    } catch {
      return;
    }
    for (const wake of waiting.splice(0)) wake();
  });
  return {
    process: child,
    line: (key) =>
      new Promise((resolve, reject) => {
        const look = () => {
          const found = lines.find((l) => key in l);
          if (found) return resolve(found);
          if (child.exitCode !== null) return reject(new Error(`the node process exited (${child.exitCode}) before printing ${key}`));
          waiting.push(look);
        };
        child.once("exit", () => look());
        look();
      }),
  };
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

describe("cluster: a node lost mid-execution", { skip }, () => {
  const redis = useRedis();

  test("another node runs it again from the start with attempt 2", async (t) => {
    const prefix = `loss${Date.now().toString(36)}`;
    const child = spawnNode(t, redis.url, prefix, 1);
    const started = await child.line("started");
    assert.equal(started.attempt, 1);
    const id = String(started.started);
    const log = new RunLog();
    const cluster = await startCluster({
      redisUrl: redis.url,
      prefix,
      agents: [plainAgent("lossy", [{ id: "api", trigger_type: "api", max_concurrent: 2 }])],
      nodes: 1,
      config: { worker_loss: workerLoss(1) },
      execute: (node) => log.executor(node, () => 10),
    });
    t.after(() => cluster.stop());
    const killedAt = Date.now();
    await killed(child.process);
    await log.until("the execution to run again on the surviving node", (runs) => runs.some((r) => r.id === id && r.status === "completed"), 20_000);
    const rerun = log.runs.find((r) => r.id === id)!;
    assert.equal(rerun.attempt, 2);
    assert.ok(rerun.startMs - killedAt < 10_000, `taken over ${rerun.startMs - killedAt} ms after the kill`);
    const result = await cluster.nodes[0]!.waitForCompletion(id, { timeoutMs: 10_000 });
    assert.equal(result?.status, "completed");
    assert.equal(result?.attempt, 2);
    assert.deepEqual(
      result?.attempts?.map((a) => [a.attempt, a.node, a.ended]),
      [[1, started.node, "worker_lost"]],
    );
    const stored = await cluster.store.get(id);
    assert.equal(stored?.attempt, 2);
    assert.equal(stored?.node, cluster.backends[0]!.nodeId);
  });

  test("with retries 0 a lost execution is not run again: it ends interrupted (worker_lost)", async (t) => {
    const prefix = `loss0${Date.now().toString(36)}`;
    const child = spawnNode(t, redis.url, prefix, 0);
    const started = await child.line("started");
    const id = String(started.started);
    const log = new RunLog();
    const cluster = await startCluster({
      redisUrl: redis.url,
      prefix,
      agents: [plainAgent("lossy", [{ id: "api", trigger_type: "api", max_concurrent: 2 }])],
      nodes: 1,
      config: { worker_loss: workerLoss(0) },
      execute: (node) => log.executor(node, () => 10),
    });
    t.after(() => cluster.stop());
    const finished = new Promise<string>((resolve) => {
      cluster.nodes[0]!.subscribe((event) => {
        if (event.execution_id === id) resolve(event.type);
      }, { types: ["execution_failed", "execution_completed", "execution_cancelled"] });
    });
    await killed(child.process);
    const result = await cluster.nodes[0]!.waitForCompletion(id, { timeoutMs: 20_000 });
    assert.equal(result?.status, "interrupted");
    assert.equal(result?.error?.code, "worker_lost");
    assert.deepEqual(result?.attempts?.map((a) => [a.attempt, a.node]), [[1, started.node]]);
    assert.equal(await finished, "execution_failed");
    assert.equal(log.runs.length, 0, "never run again");
  });

  test("a node that loses a running job's lock aborts it (lock_lost) and writes no record; the job runs again with attempt 2", async (t) => {
    const log = new RunLog();
    const cluster = await startCluster({
      redisUrl: redis.url,
      agents: [plainAgent("lossy", [{ id: "api", trigger_type: "api", max_concurrent: 2 }])],
      nodes: 1,
      config: { worker_loss: workerLoss(1) },
      execute: (node) => log.executor(node, (o) => (o.attempt === 1 ? "hold" : 10)),
    });
    t.after(() => cluster.stop());
    const [node] = cluster.nodes;
    const id = await node!.trigger("api", {});
    await log.until("the first attempt to run", (runs) => runs.some((r) => r.id === id));
    // What a long partition or event-loop stall does: the lock is gone from Redis.
    const redisClient = await (cluster.backends[0] as unknown as { link: RedisLink }).link.commands();
    assert.equal(await redisClient.del(`${cluster.prefix}:bull:lossy.api:${id}:lock`), 1);
    await log.until("the second attempt to complete", (runs) => runs.some((r) => r.id === id && r.attempt === 2 && r.status === "completed"), 20_000);
    const first = log.runs.find((r) => r.id === id && r.attempt === 1)!;
    assert.equal(first.status, "cancelled", "the first attempt was aborted");
    const result = await node!.waitForCompletion(id, { timeoutMs: 10_000 });
    assert.equal(result?.status, "completed");
    assert.equal((await cluster.store.get(id))?.attempt, 2);
    assert.equal((await cluster.store.get(id))?.status, "completed", "the aborted attempt did not overwrite the record");
  });
});
