// SPEC 9: `GET /stats` (and `/metrics`) on any node of a cluster reports the
// webhook counters of the whole cluster. Two `serve` nodes in this process on
// one real redis-server and prefix receive signed deliveries over HTTP; each
// node's /stats answers the sum, a stopped node's deliveries stay counted, and
// the counts reach Redis coalesced (runtime/cluster/webhook-counters.ts).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createLogger } from "../../src/logging/index.js";
import { ClusterWebhookCounters } from "../../src/runtime/cluster/webhook-counters.js";
import { serve } from "../../src/server/serve.js";
import type { ServeInfo } from "../../src/server/serve-file.js";
import { signGithub } from "../../src/server/verify/index.js";
import { WebhookStats } from "../../src/server/webhook-stats.js";
import { openRedis, RedisLink, RedisUnavailableError } from "../../src/storage/redis/connection.js";
import { tempDir } from "../helpers/cli.js";
import { redisSkip, useRedis } from "../helpers/redis-server.js";
import { jsonLogger } from "../helpers/json-logs.js";
import { waitFor } from "../helpers/wait.js";

const skip = redisSkip();
const SECRET = "cluster-hook-secret";
const TOKEN = "cluster-webhook-stats-token";

const AGENT = `
name: hooked
graph:
  output_keys: [done]
  nodes:
    - id: work
      type: function
      module: ./steps.mjs
      export: work
      output_keys: [done]
entry_points:
  - id: hook
    trigger_type: event
    trigger_config:
      event_types: [webhook_received]
      filter_stream: github
    max_queued: 100
runtime:
  backend: redis
  redis_url: \${REDIS_URL}
  redis_prefix: \${REDIS_PREFIX}
  control_host: 127.0.0.1
  control_port: 0
  webhook_host: 127.0.0.1
  webhook_port: 0
  shutdown_grace_seconds: 5
  webhook_routes:
    - source_id: github
      path: /webhooks/github
      secret: ${SECRET}
      verify: github
`;

const STEPS = `export async function work() { return { done: true }; }\n`;

type Counts = { accepted: number; rejected: number; duplicates: number };

/** One `serve` node running in this process until `stop()`. */
interface Node {
  info: ServeInfo;
  logs: Record<string, unknown>[];
  stats(): Promise<{ webhooks: Record<string, Counts> }>;
  metrics(): Promise<string>;
  deliver(deliveryId: string, options?: { badSignature?: boolean }): Promise<number>;
  stop(): Promise<number>;
}

async function startNode(dir: string, name: string, env: NodeJS.ProcessEnv): Promise<Node> {
  const { logger, logs } = jsonLogger();
  const interrupt = new AbortController();
  let ready!: (info: ServeInfo) => void;
  const readyInfo = new Promise<ServeInfo>((resolve) => (ready = resolve));
  const running = serve({
    files: [join(dir, "hooked.yaml")],
    storage: join(dir, `storage-${name}`),
    env,
    cwd: dir,
    logger,
    interrupt: interrupt.signal,
    forceInterrupt: new AbortController().signal,
    onReady: (info) => ready(info),
  });
  const info = await Promise.race([readyInfo, running.then((code) => Promise.reject(new Error(`node ${name} exited with ${code} before it was ready`)))]);
  const auth = { authorization: `Bearer ${TOKEN}` };
  return {
    info,
    logs,
    async stats() {
      const res = await fetch(`${info.url}/stats`, { headers: auth });
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as { webhooks: Record<string, Counts> };
    },
    async metrics() {
      const res = await fetch(`${info.url}/metrics`, { headers: auth });
      assert.equal(res.status, 200);
      return res.text();
    },
    async deliver(deliveryId, options = {}) {
      const body = JSON.stringify({ action: "opened", id: deliveryId });
      const res = await fetch(`${info.webhook_url}/webhooks/github`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": "issues",
          "x-github-delivery": deliveryId,
          "x-hub-signature-256": signGithub(body, options.badSignature ? "wrong-secret" : SECRET),
        },
        body,
      });
      await res.arrayBuffer();
      return res.status;
    },
    stop() {
      interrupt.abort("test");
      return running;
    },
  };
}

/** The value of one Prometheus sample, or undefined when absent. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

/**
 * If the test is still at it after 45 s (it takes about 3 s), tells on
 * stderr which step it is at and what the nodes logged last, so a test that
 * hangs says where before its timeout ends it.
 */
function watchdog(t: { after(fn: () => void): void }, nodes: () => Node[], step: () => string): void {
  const timer = setTimeout(() => {
    const logs = nodes().flatMap((n) => n.logs.slice(-30).map((l) => JSON.stringify(l)));
    process.stderr.write(`still at "${step()}" after 45 s; the nodes' last log lines:\n${logs.join("\n")}\n`);
  }, 45_000);
  timer.unref();
  t.after(() => clearTimeout(timer));
}

describe("cluster webhook stats", { skip }, () => {
  const redis = useRedis();
  let dir: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    dir = await tempDir("forager-cluster-webhook-stats-");
    await writeFile(join(dir.path, "hooked.yaml"), AGENT);
    await writeFile(join(dir.path, "steps.mjs"), STEPS);
  });
  after(async () => {
    await dir?.cleanup();
  });

  test("/stats and /metrics of either node sum the deliveries of both; a stopped node's stay counted", { timeout: 90_000 }, async (t) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, FORAGER_TOKEN: TOKEN, REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix("hooks") };
    const started: Node[] = [];
    watchdog(t, () => started, () => `node ${started.length + 1} starting, or after`);
    const a = await startNode(dir.path, "a", env);
    started.push(a);
    const b = await startNode(dir.path, "b", env);
    started.push(b);
    const stopped = new Set<Node>();
    t.after(async () => {
      await Promise.all([a, b].filter((n) => !stopped.has(n)).map((n) => n.stop()));
    });

    // Two deliveries on A: A's own /stats shows them at once (its read writes what it holds first).
    assert.equal(await a.deliver("d-1"), 202);
    assert.equal(await a.deliver("d-2"), 202);
    assert.deepEqual((await a.stats()).webhooks.github, { accepted: 2, rejected: 0, duplicates: 0 });

    // On B: a new delivery, a retry of A's d-1 (a duplicate, cluster-wide dedup), a forged signature.
    assert.equal(await b.deliver("d-3"), 202);
    assert.equal(await b.deliver("d-1"), 200);
    assert.equal(await b.deliver("d-4", { badSignature: true }), 401);
    const summed: Counts = { accepted: 3, rejected: 1, duplicates: 1 };
    // A's counts reached Redis with A's read above, B's go with B's read: no wait needed on B.
    assert.deepEqual((await b.stats()).webhooks.github, summed);
    // B's read wrote B's counts before it answered: A's /stats has them too.
    assert.deepEqual((await a.stats()).webhooks.github, summed);

    for (const node of [a, b]) {
      const text = await node.metrics();
      assert.equal(sample(text, "forager_webhook_requests_total", 'source_id="github",status="202"'), 3);
      assert.equal(sample(text, "forager_webhook_requests_total", 'source_id="github",status="200"'), 1);
      assert.equal(sample(text, "forager_webhook_requests_total", 'source_id="github",status="401"'), 1);
      assert.equal(sample(text, "forager_webhook_outcomes_total", 'source_id="github",outcome="accepted"'), 3);
      assert.equal(sample(text, "forager_webhook_outcomes_total", 'source_id="github",outcome="duplicates"'), 1);
    }

    // B takes one more delivery and stops: its last counts are written as it leaves, and they stay in the totals.
    assert.equal(await b.deliver("d-5"), 202);
    stopped.add(b);
    assert.equal(await b.stop(), 0);
    assert.deepEqual((await a.stats()).webhooks.github, { accepted: 4, rejected: 1, duplicates: 1 });
  });

  test("with Redis away /stats is a clean 503, and the counts made meanwhile reach Redis once it is back", { timeout: 90_000 }, async (t) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, FORAGER_TOKEN: TOKEN, REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix("away") };
    let step = "starting the node";
    let started: Node | undefined;
    watchdog(t, () => (started ? [started] : []), () => step);
    const a = (started = await startNode(dir.path, "c", env));
    let restarted = false;
    t.after(async () => {
      step = "stopping the node";
      if (!restarted) await redis.restart();
      await a.stop();
    });
    step = "delivering with Redis up";
    assert.equal(await a.deliver("x-1"), 202);
    assert.deepEqual((await a.stats()).webhooks.github, { accepted: 1, rejected: 0, duplicates: 0 });

    // Nothing may print to stderr while Redis is away (BullMQ prints errors nobody listens to, stack and all).
    const printed = t.mock.method(console, "error", () => undefined);
    step = "killing Redis";
    await redis.kill();
    step = "delivering with Redis away";
    // A delivery cannot be recorded: 503, counted as rejected on this node, and waiting in memory for Redis.
    assert.equal(await a.deliver("x-2"), 503);
    // The runtime's cluster stats cannot be read either: a one-line 503, as every read while Redis is away.
    step = "reading /stats with Redis away";
    const res = await fetch(`${a.info.url}/stats`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const text = await res.text();
    assert.equal(res.status, 503, text);
    const body = JSON.parse(text) as { error: { code: string; message: string } };
    assert.deepEqual(Object.keys(body.error), ["code", "message"]);
    assert.equal(body.error.code, "redis_unavailable");
    assert.doesNotMatch(body.error.message, /\n|\sat \S+:\d+/, "one line, no stack trace");

    step = "restarting Redis";
    await redis.restart();
    restarted = true;
    step = "waiting for the counts in Redis";
    // Read Redis itself: the rejected delivery counted while Redis was away is written by a later flush.
    const checker = await openRedis({ url: redis.url, prefix: env.REDIS_PREFIX! }, "commands");
    t.after(() => checker.disconnect());
    await waitFor("the counts made while Redis was away are in Redis", async () => {
      const hash = await checker.hgetall(`${env.REDIS_PREFIX}:webhooks:github`).catch(() => ({}) as Record<string, string>);
      return hash.rejected === "1" && hash.accepted === "1" && hash["status:503"] === "1";
    }, { timeoutMs: 20_000, stepMs: 100 });
    assert.deepEqual((await a.stats()).webhooks.github, { accepted: 1, rejected: 1, duplicates: 0 });
    assert.equal(printed.mock.callCount(), 0, `printed: ${printed.mock.calls.map((c) => String(c.arguments[0])).join("; ")}`);
  });
});

describe("webhook totals", () => {
  test("one process: this process's counters; a cluster whose Redis does not answer: this node's, with a warning", async () => {
    const local = new WebhookStats(["github"]);
    local.record("github", "accepted", 202);
    assert.deepEqual(await local.totals(), { counts: { github: { accepted: 1, rejected: 0, duplicates: 0 } }, responses: [{ source_id: "github", status: 202, count: 1 }] });

    const { logger, logs } = jsonLogger("warn");
    const added: string[] = [];
    const away = new WebhookStats(["github"], {
      logger,
      counters: {
        add: (source, field) => void added.push(`${source}/${field}`),
        totals: () => Promise.reject(new RedisUnavailableError("cannot reach Redis")),
      },
    });
    away.record("github", "rejected", 401);
    assert.deepEqual(added, ["github/rejected", "github/status:401"]);
    assert.deepEqual(await away.totals(), { counts: { github: { accepted: 0, rejected: 1, duplicates: 0 } }, responses: [{ source_id: "github", status: 401, count: 1 }] });
    assert.match(String(logs[0]?.msg), /cannot read the cluster's webhook counters/);
  });
});

describe("cluster webhook counters", { skip }, () => {
  const redis = useRedis();

  const silent = createLogger({ format: "json", level: "silent" });

  test("counts are coalesced: nothing is written per add, one read writes them all, a flush timer writes them without a read", async (t) => {
    const prefix = redis.prefix("coalesce");
    const checker = await openRedis({ url: redis.url, prefix }, "commands");
    t.after(() => checker.disconnect());
    const slow = new ClusterWebhookCounters(new RedisLink({ url: redis.url, prefix }), { logger: silent, flushMs: 600_000, ownsLink: true });
    t.after(() => slow.close());
    const statsBefore = await checker.info("commandstats");
    const hincrbyCalls = (info: string) => Number(/cmdstat_hincrby:calls=(\d+)/.exec(info)?.[1] ?? 0);
    for (let i = 0; i < 100; i++) {
      slow.add("github", "accepted");
      slow.add("github", "status:202");
    }
    slow.add("stripe", "rejected");
    assert.deepEqual(await checker.hgetall(`${prefix}:webhooks:github`), {}, "nothing written before a flush or a read");
    const totals = await slow.totals(["github", "stripe", "slack"]);
    assert.deepEqual(totals, { github: { accepted: 100, "status:202": 100 }, stripe: { rejected: 1 }, slack: {} });
    // Three counters written with three HINCRBYs, not 201 (this Redis serves this test alone).
    assert.equal(hincrbyCalls(await checker.info("commandstats")) - hincrbyCalls(statsBefore), 3);

    const quick = new ClusterWebhookCounters(new RedisLink({ url: redis.url, prefix }), { logger: silent, flushMs: 20, ownsLink: true });
    t.after(() => quick.close());
    quick.add("github", "accepted", 5);
    await waitFor("the flush timer wrote the counts", async () => (await checker.hget(`${prefix}:webhooks:github`, "accepted")) === "105", { timeoutMs: 10_000 });
    // Another node's read sums every node's counts.
    assert.equal((await slow.totals(["github"])).github!.accepted, 105);
  });
});
