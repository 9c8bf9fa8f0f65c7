/**
 * The cluster contract (SPEC 9, issue 14): three `forager serve` processes
 * on one Redis act as one runtime. Each scenario starts its own three nodes
 * under a key prefix of its own, waits on state (records, spans written
 * with Redis TIME, /health, /stats), never on a fixed sleep, and is bounded
 * in time. `npm run test:cluster` runs this file; a plain `npm test` does not.
 */
import assert from "node:assert/strict";
import { after, describe, test, type TestContext } from "node:test";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { redisSkip, startRedis, useRedis, type RedisServer } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait.js";
import { Cluster, FIXTURES, killAllNodes, maxOverlap, pool, TERMINAL, type ClusterNode, type HttpAnswer } from "./harness.js";

/**
 * Scenarios whose backing piece is not on main yet: the reason, or false.
 * A todo scenario still runs (and reports); it just cannot fail the suite.
 */
const TODO: Record<string, string | false> = {
  1: false,
  2: false,
  3: false,
  4: false,
  "4b": false,
  5: false,
  "5b": false,
  6: false,
  7: false,
  8: false,
};

const skip = redisSkip();

describe("cluster: three serve processes on one Redis", { skip, concurrency: 1 }, () => {
  const clusters: Cluster[] = [];

  // Registered before useRedis(): every node is gone before the server stops.
  after(async () => {
    for (const c of clusters) await c.stop().catch(() => undefined);
    await killAllNodes();
  });
  const redis = useRedis();

  /** Three nodes for one test, stopped (by PID) when that test ends, whatever its outcome. */
  async function startCluster(t: TestContext, name: string, files: string[], env: Record<string, string> = {}, server: RedisServer = redis.server): Promise<Cluster> {
    const cluster = new Cluster(server, files.map((f) => join(FIXTURES, f)), env, name);
    clusters.push(cluster);
    t.after(() => cluster.stop());
    await cluster.start(3);
    return cluster;
  }

  /** `forager sessions ...` against the cluster's Redis (FORAGER_REDIS_URL, the test's prefix). */
  function sessionsCli(cluster: Cluster, args: string[]) {
    return runCli(["sessions", ...args, "--json"], {
      env: { FORAGER_REDIS_URL: cluster.redis.url, FORAGER_REDIS_PREFIX: cluster.prefix, FORAGER_STORAGE: cluster.nodes[0]!.storage },
      timeoutMs: 30_000,
    });
  }

  async function events(cluster: Cluster, id: string): Promise<{ type: string; data?: Record<string, unknown> }[]> {
    const shown = await sessionsCli(cluster, ["show", id]);
    assert.equal(shown.code, 0, shown.stderr);
    return (JSON.parse(shown.stdout) as { events: { type: string; data?: Record<string, unknown> }[] }).events;
  }

  /** 503s answered (and retried) during the bursts: nothing recorded, but worth seeing. */
  let refusals: string[] = [];

  /** Sends again after a 503 with Retry-After (at most five times), remembering why it was refused. */
  async function withRetry(send: () => Promise<HttpAnswer>): Promise<HttpAnswer> {
    for (let attempt = 1; ; attempt++) {
      const answer = await send();
      const retryAfter = Number(answer.headers.get("retry-after"));
      if (answer.status !== 503 || attempt >= 5 || !Number.isFinite(retryAfter)) return answer;
      refusals.push(String((answer.body.error as { message?: string } | undefined)?.message ?? answer.status));
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000)); // the server asked for this pause
    }
  }

  /** The load of scenarios 1 and 2: 60 triggers over the three control APIs, 30 deliveries each sent to two nodes. */
  async function burst(t: TestContext, cluster: Cluster) {
    const accepted = new Set<string>();
    const nodes = cluster.nodes;
    // Twelve senders at once (four per node). A 503 means nothing was recorded: the
    // sender waits Retry-After and sends again, as a client should, and the test says how often.
    const triggers = await pool(60, 12, (i) => withRetry(() => nodes[i % 3]!.trigger("work", "api", { sleep_ms: 400 + ((i * 37) % 500) })));
    for (const answer of triggers) {
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      accepted.add(String(answer.body.execution_id));
    }
    const deliveries = await pool(30, 6, async (i) => {
      const id = `delivery-${cluster.prefix}-${i}`;
      const payload = { sleep_ms: 400 + ((i * 53) % 500), n: i };
      const answers = await Promise.all([withRetry(() => nodes[i % 3]!.deliver(id, payload)), withRetry(() => nodes[(i + 1) % 3]!.deliver(id, payload))]);
      return { id, answers };
    });
    for (const { id, answers } of deliveries) {
      const statuses = answers.map((a) => a.status).sort();
      assert.deepEqual(statuses, [200, 202], `delivery ${id}: ${JSON.stringify(answers.map((a) => a.body))}`);
      const first = answers.find((a) => a.status === 202)!;
      const dup = answers.find((a) => a.status === 200)!;
      assert.equal(dup.body.status, "duplicate");
      assert.equal(dup.body.event_id, first.body.event_id, "the duplicate names the first copy's event");
      const executions = first.body.executions as string[];
      assert.equal(executions.length, 1, `delivery ${id} triggers the hook entry point once`);
      accepted.add(executions[0]!);
    }
    assert.equal(accepted.size, 90);
    if (refusals.length > 0) t.diagnostic(`${refusals.length} answers were 503 and sent again: ${[...new Set(refusals)].join("; ")}`);
    refusals = [];
    return accepted;
  }

  test("1. burst and kill: every 202 ends, one execution per delivery, the lost node's work re-runs as attempt 2", { todo: TODO[1], timeout: 180_000 }, async (t) => {
    const cluster = await startCluster(t, "burst", ["work.yaml"], { GLOBAL_CONCURRENCY: "6" });
    const accepted = await burst(t, cluster);
    // Six 3 s executions behind the burst (one FIFO queue): once they run (six slots, three nodes),
    // the burst has drained and some node runs two of them. The kill comes then, so the time to
    // the end measures the takeover, not how long a 2-core machine takes to drain the burst.
    const slow = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const answer = await withRetry(() => cluster.nodes[i % 3]!.trigger("work", "api", { sleep_ms: 3_000 }));
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      accepted.add(String(answer.body.execution_id));
      slow.add(String(answer.body.execution_id));
    }
    const { victim, running } = await waitFor("a node to run two of the slow executions at once", async () => {
      for (const node of cluster.nodes) {
        const ids = await cluster.runningOn(node.pid);
        if (ids.filter((id) => slow.has(id)).length >= 2) return { victim: node, running: ids };
      }
      return undefined;
    }, { timeoutMs: 90_000, stepMs: 10 });
    victim.kill("SIGKILL");
    const killedAt = Date.now();
    await victim.exited;
    // Issue 14: every 202 ends within 15 s of the kill (takeover at lock 2 s / check 1 s, then a 3 s re-run).
    const records = await cluster.waitTerminal("work", accepted, 15_000);
    t.diagnostic(`every accepted execution ended ${Date.now() - killedAt} ms after the kill`);

    // Nothing lost, nothing extra: the stored executions are exactly the accepted ones.
    assert.deepEqual(new Set(records.keys()), accepted);
    for (const id of accepted) assert.equal(records.get(id)!.status, "completed", `${id}: ${JSON.stringify(records.get(id))}`);
    // What the victim was running started again elsewhere, as attempt 2, in the same session.
    const spans = await cluster.spans();
    const lost = new Set(spans.filter((s) => s.pid === victim.pid && s.kind === "start" && !spans.some((e) => e.kind === "end" && e.id === s.id && e.attempt === s.attempt)).map((s) => s.id));
    // What ran there when it was seen running was lost with it, unless it ended in the moment before the kill.
    const endedThere = (id: string) => spans.some((e) => e.kind === "end" && e.id === id && e.pid === victim.pid && e.attempt === 1);
    for (const id of running) assert.ok(lost.has(id) || endedThere(id), `${id} was running on the killed node`);
    assert.ok(lost.size >= 1, "the kill interrupted at least one execution");
    for (const id of lost) {
      const record = (await cluster.any().control(`/executions/${id}`)).body;
      assert.equal(record.attempt, 2, `${id} re-ran: ${JSON.stringify(record)}`);
      const started = (await events(cluster, id)).filter((e) => e.type === "execution_started");
      assert.equal(started.length, 2, `${id} has two execution_started events`);
      assert.ok(spans.some((s) => s.id === id && s.attempt === 2 && s.pid !== victim.pid && s.kind === "end"));
    }
  });

  test("2. limits: max_concurrent and max_concurrent_executions hold across nodes; a synchronized counter is exact", { todo: TODO[2], timeout: 180_000 }, async (t) => {
    const cluster = await startCluster(t, "limits", ["work.yaml", "counter.yaml"]);
    const accepted = await burst(t, cluster);
    const counts = await pool(30, 6, (i) => withRetry(() => cluster.nodes[i % 3]!.trigger("counter", "bump", {})));
    const counterIds = counts.map((a) => {
      assert.equal(a.status, 202, JSON.stringify(a.body));
      return String(a.body.execution_id);
    });
    await cluster.waitTerminal("work", accepted, 90_000);
    await cluster.waitTerminal("counter", counterIds, 60_000);

    const spans = await cluster.spans();
    assert.ok(maxOverlap(spans, (s) => s.ep === "api") <= 4, `api ran more than max_concurrent 4 at once (${maxOverlap(spans, (s) => s.ep === "api")})`);
    assert.ok(maxOverlap(spans, (s) => s.ep === "hook") <= 3, "hook ran more than max_concurrent 3 at once");
    assert.ok(maxOverlap(spans, (s) => s.ep !== "bump") <= 5, `more than max_concurrent_executions 5 ran at once (${maxOverlap(spans, (s) => s.ep !== "bump")})`);
    // The load used the cluster, not one node.
    assert.ok(new Set(spans.map((s) => s.pid)).size >= 2, "executions ran on more than one node");
    assert.equal(maxOverlap(spans, (s) => s.ep === "bump"), 1, "synchronized executions never overlap");
    const outputs = await Promise.all(counterIds.map(async (id) => (await cluster.any().control(`/executions/${id}`)).body));
    const values = outputs.map((r) => (r.output as { count: number }).count).sort((a, b) => a - b);
    assert.deepEqual(values, Array.from({ length: 30 }, (_, i) => i + 1), "each bump saw the one before it: the count ends at 30");
  });

  test("3. overlap: skip, reject and cancel_previous hold across nodes", { todo: TODO[3], timeout: 120_000 }, async (t) => {
    const cluster = await startCluster(t, "overlap", ["work.yaml", "overlap.yaml"]);
    // Each execution would run 60 s: however slowly a loaded machine admits the ten triggers,
    // the first one admitted is still running when the last one arrives. The test cancels
    // what is left once it has checked it.
    const fire = (ep: string) => Promise.all(Array.from({ length: 10 }, (_, i) => cluster.nodes[i % 3]!.trigger("overlap", ep, { sleep_ms: 60_000 })));
    const [skip, reject, cancel] = await Promise.all([fire("skip"), fire("reject"), fire("cancel")]);

    const started = (answers: HttpAnswer[]) => answers.filter((a) => a.status === 202);
    assert.equal(started(skip).length, 1, `skip: ${JSON.stringify(skip.map((a) => [a.status, a.body]))}`);
    for (const a of skip.filter((x) => x.status !== 202)) {
      assert.equal(a.status, 200);
      assert.equal(a.body.status, "skipped");
    }
    assert.equal(started(reject).length, 1, `reject: ${JSON.stringify(reject.map((a) => [a.status, a.body]))}`);
    for (const a of reject.filter((x) => x.status !== 202)) {
      assert.equal(a.status, 429);
      assert.equal(a.body.status, "rejected");
      assert.match(a.headers.get("retry-after") ?? "", /^\d+$/);
    }
    assert.equal(started(cancel).length, 10, `cancel_previous accepts every trigger: ${JSON.stringify(cancel.map((a) => [a.status, a.body]))}`);
    const cancelIds = cancel.map((a) => String(a.body.execution_id));

    // Nine are cancelled by the one admitted after them; the last one admitted runs.
    type Row = { execution_id: string; status: string; queued_at: string; session_id: string; error?: { reason?: string } | null };
    let seen: Row[] = [];
    const rows = await waitFor("nine cancel_previous executions cancelled and one running", async () => {
      const list = (await cluster.any().control<Row[]>("/executions?agent=overlap&limit=5000")).body;
      seen = list.filter((r) => cancelIds.includes(r.execution_id));
      const ended = seen.filter((r) => TERMINAL.has(r.status));
      return seen.length === 10 && ended.length === 9 && seen.some((r) => r.status === "running") ? seen : undefined;
    }, { timeoutMs: 45_000, stepMs: 100 }).catch(async (err: Error) => {
      const spans = (await cluster.spans()).filter((x) => x.ep === "cancel").map((x) => `${x.id.slice(-6)} ${x.kind}@${x.t} pid ${x.pid}`);
      throw new Error(`${err.message}; saw ${JSON.stringify(seen.map((r) => [r.execution_id.slice(-6), r.status, r.queued_at]))}; spans ${JSON.stringify(spans)}`);
    });
    const survivor = rows.find((r) => r.status === "running")!;
    for (const r of rows.filter((x) => x !== survivor)) {
      const record = (await cluster.any().control<Row>(`/executions/${r.execution_id}`)).body;
      assert.equal(record.status, "cancelled", JSON.stringify(record));
      assert.equal(record.error?.reason, "cancel_previous", JSON.stringify(record));
    }
    const lastAdmitted = Math.max(...rows.map((r) => Date.parse(r.queued_at)));
    assert.equal(Date.parse(survivor.queued_at), lastAdmitted, "the survivor is the last trigger admitted");
    assert.equal(new Set(rows.map((r) => r.session_id)).size, 1, "every successor runs in the victim's session");

    // What still runs is cancelled; then no entry point ever ran two at once.
    const running = [survivor.execution_id, String(started(skip)[0]!.body.execution_id), String(started(reject)[0]!.body.execution_id)];
    for (const [i, id] of running.entries()) assert.equal((await cluster.nodes[i]!.control(`/executions/${id}/cancel`, { method: "POST" })).status, 200);
    await cluster.waitTerminal("overlap", running, 30_000);
    const spans = await cluster.spans();
    for (const ep of ["skip", "reject", "cancel"]) assert.ok(maxOverlap(spans, (s) => s.ep === ep) <= 1, `${ep}: two at once`);
  });

  test("4. timers: one execution per tick across the cluster, pause on one node pauses all", { todo: TODO[4], timeout: 180_000 }, async (t) => {
    const cluster = await startCluster(t, "timers", ["timers.yaml"]);
    const [first, , third] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    type Row = { execution_id: string; entry_point: string; status: string };
    const list = async (node: ClusterNode) => (await node.control<Row[]>("/executions?agent=ticker&limit=5000")).body;
    await waitFor("five ticks of each timer", async () => {
      const rows = await list(third);
      return ["every-none", "every-last"].every((ep) => rows.filter((r) => r.entry_point === ep && TERMINAL.has(r.status)).length >= 5) || undefined;
    }, { timeoutMs: 30_000, stepMs: 250 });
    const scheduled = async (rows: Row[], from: ClusterNode = first) =>
      Promise.all(rows.map(async (r) => {
        const record = (await from.control(`/executions/${r.execution_id}`)).body;
        return { ep: r.entry_point, at: (record.output as { scheduled_at?: string } | null)?.scheduled_at, reason: (record.output as { reason?: string } | null)?.reason };
      }));
    const ticks = await scheduled((await list(first)).filter((r) => TERMINAL.has(r.status)));
    for (const ep of ["every-none", "every-last"]) {
      const times = ticks.filter((t) => t.ep === ep).map((t) => t.at);
      assert.equal(new Set(times).size, times.length, `${ep}: no scheduled_at ran twice: ${times.join(", ")}`);
    }
    assert.ok(new Set((await cluster.spans()).map((s) => s.pid)).size >= 2, "ticks ran on more than one node");

    // forager pause-timers on node 0: every node reports paused, and ticks stop everywhere.
    const paused = await runCli(["pause-timers", "--url", first.info.url, "--token", cluster.token], { timeoutMs: 30_000 });
    assert.equal(paused.code, 0, paused.stderr);
    const pausedAt = Date.now();
    for (const node of cluster.nodes) assert.equal((await node.control("/stats")).body.timers_paused, true, `node ${node.index} sees the pause`);
    const skippedOf = (stats: Record<string, unknown>) =>
      Object.entries(stats.timers as Record<string, { skipped: number }>).filter(([k]) => k.includes("every-none")).reduce((n, [, t]) => n + t.skipped, 0);
    const skippedBefore = skippedOf((await third.control("/stats")).body);
    await waitFor("two ticks skipped while paused", async () => skippedOf((await third.control("/stats")).body) >= skippedBefore + 2 || undefined, { timeoutMs: 15_000, stepMs: 200 });
    const whilePaused = await scheduled((await list(third)).filter((r) => r.entry_point === "every-none"));
    // A tick scheduled more than a period after the pause would have run despite it.
    assert.ok(whilePaused.every((t) => t.at === undefined || Date.parse(t.at) <= pausedAt + 1_000), "no tick ran while paused");
    const resumed = await runCli(["resume-timers", "--url", third.info.url, "--token", cluster.token], { timeoutMs: 30_000 });
    assert.equal(resumed.code, 0, resumed.stderr);
    for (const node of cluster.nodes) assert.equal((await node.control("/stats")).body.timers_paused, false, `node ${node.index} sees the resume`);
  });

  test("4b. timers: after the whole cluster was down, catch_up last fires once and none fires nothing", { todo: TODO["4b"], timeout: 120_000 }, async (t) => {
    const cluster = await startCluster(t, "catchup", ["timers.yaml"]);
    const third = cluster.nodes[2]!;
    type Row = { execution_id: string; entry_point: string; status: string };
    const list = async (node: ClusterNode) => (await node.control<Row[]>("/executions?agent=ticker&limit=5000")).body;
    const scheduled = async (rows: Row[], from: ClusterNode) =>
      Promise.all(rows.map(async (r) => {
        const record = (await from.control(`/executions/${r.execution_id}`)).body;
        return { ep: r.entry_point, reason: (record.output as { reason?: string } | null)?.reason };
      }));
    await waitFor("two ticks of each timer", async () => {
      const rows = await list(third);
      return ["every-none", "every-last"].every((ep) => rows.filter((r) => r.entry_point === ep && TERMINAL.has(r.status)).length >= 2) || undefined;
    }, { timeoutMs: 30_000, stepMs: 250 });

    // Downtime: every node stops, the cluster is down for more than two periods, one node starts.
    for (const node of cluster.nodes) node.kill("SIGTERM");
    for (const node of cluster.nodes) assert.equal((await node.exited).code, 0);
    const before = new Set((await cluster.spans()).map((s) => s.id));
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // the downtime itself, not a wait for state
    const [restarted] = await cluster.start(1);
    await waitFor("a catch-up tick of every-last", async () => {
      const rows = (await list(restarted!)).filter((r) => !before.has(r.execution_id) && TERMINAL.has(r.status));
      return (await scheduled(rows, restarted!)).some((t) => t.ep === "every-last" && t.reason === "catch_up") || undefined;
    }, { timeoutMs: 30_000, stepMs: 250 });
    const after = await scheduled((await list(restarted!)).filter((r) => !before.has(r.execution_id) && TERMINAL.has(r.status)), restarted!);
    assert.equal(after.filter((t) => t.ep === "every-last" && t.reason === "catch_up").length, 1, "catch_up: last fires once for the missed ticks");
    assert.equal(after.filter((t) => t.ep === "every-none" && t.reason === "catch_up").length, 0, "catch_up: none fires nothing for them");
  });

  /** The failures each finished guardian execution saw. */
  async function guardians(cluster: Cluster): Promise<string[]> {
    type Row = { execution_id: string; status: string };
    const rows = (await cluster.any().control<Row[]>("/executions?agent=guardian&limit=5000")).body;
    return Promise.all(rows.filter((r) => TERMINAL.has(r.status)).map(async (r) => ((await cluster.any().control(`/executions/${r.execution_id}`)).body.output as { saw: string }).saw));
  }

  test("5. events: a guardian runs exactly once per failure, whichever nodes run them", { todo: TODO[5], timeout: 120_000 }, async (t) => {
    const cluster = await startCluster(t, "events", ["work.yaml", "events.yaml", "guardian.yaml"]);
    const failures = await Promise.all(Array.from({ length: 6 }, (_, n) => cluster.nodes[n % 3]!.trigger("flaky", "api", { n })));
    const failedIds = failures.map((a) => String(a.body.execution_id));
    const records = await cluster.waitTerminal("flaky", failedIds, 30_000);
    for (const id of failedIds) assert.equal(records.get(id)!.status, "failed");
    await waitFor("a guardian for each failure", async () => (await guardians(cluster)).length >= 6 || undefined, { timeoutMs: 30_000, stepMs: 200 });
    assert.deepEqual((await guardians(cluster)).sort(), [...failedIds].sort(), "exactly one guardian per failure");
    const spans = await cluster.spans();
    assert.ok(new Set(spans.map((s) => s.pid)).size >= 2, "failures and guardians ran on more than one node");
  });

  test("5b. events: the guardian runs once when the failing execution's node is killed right after the failure", { todo: TODO["5b"], timeout: 120_000 }, async (t) => {
    const cluster = await startCluster(t, "events-kill", ["work.yaml", "events.yaml", "guardian.yaml"]);
    // Kill the node that ran a failure as soon as its function has failed.
    const next = await cluster.nodes[0]!.trigger("flaky", "api", { n: 99 });
    const id = String(next.body.execution_id);
    const end = await waitFor("the failing function to end", async () => (await cluster.spans()).find((s) => s.id === id && s.kind === "end"), { timeoutMs: 30_000, stepMs: 5 });
    const node = cluster.nodes.find((n) => n.pid === end.pid)!;
    node.kill("SIGKILL");
    await node.exited;
    await cluster.waitTerminal("flaky", [id], 30_000);
    await waitFor("the guardian of the failure", async () => (await guardians(cluster)).includes(id) || undefined, { timeoutMs: 30_000, stepMs: 200 });
    const seen = await guardians(cluster);
    assert.deepEqual(seen, [id], "the guardian ran once for it");
  });

  test("6. reads, cancel, stats: node 0 cancels an execution running elsewhere; every node reads the same; /stats sums the cluster", { todo: TODO[6], timeout: 120_000 }, async (t) => {
    const cluster = await startCluster(t, "reads", ["work.yaml"], { API_CONCURRENCY: "9", GLOBAL_CONCURRENCY: "9" });
    const [first, , third] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const ids: string[] = [];
    // Trigger long executions on node 0 until one runs on another node (which node takes a job is the queue's choice).
    const victim = await waitFor("an execution running on another node than node 0", async () => {
      if (ids.length >= 9) throw new Error("nine executions and all ran on node 0");
      const answer = await first.trigger("work", "api", { sleep_ms: 60_000 });
      const id = String(answer.body.execution_id);
      ids.push(id);
      const span = await waitFor(`${id} to start`, async () => (await cluster.spans()).find((s) => s.id === id && s.kind === "start"), { timeoutMs: 20_000, stepMs: 20 });
      return span.pid !== first.pid ? id : undefined;
    }, { timeoutMs: 90_000, stepMs: 1 });

    const t0 = performance.now();
    const cancelled = await first.control(`/executions/${victim}/cancel`, { method: "POST" });
    const elapsed = performance.now() - t0;
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.status, "cancelled");
    assert.ok(elapsed < 1_000, `cancel across nodes took ${Math.round(elapsed)} ms`);
    for (const id of ids) if (id !== victim) assert.equal((await cluster.nodes[ids.indexOf(id) % 3]!.control(`/executions/${id}/cancel`, { method: "POST" })).status, 200);
    await cluster.waitTerminal("work", ids, 30_000);

    // The same result JSON (SPEC 7) on every node: the one that ran it answers from its cache, the others from Redis.
    const views = await Promise.all(cluster.nodes.map(async (n) => (await n.control(`/executions/${victim}`)).body));
    for (const view of views) assert.deepEqual(view, views[0], "every node shows the same record");
    assert.deepEqual(views[0]!.input, { sleep_ms: 60_000 }, "the record shows the trigger's input");
    const lists = await Promise.all(cluster.nodes.map(async (n) => (await n.control<{ execution_id: string; status: string }[]>("/executions?agent=work")).body.map((r) => `${r.execution_id}:${r.status}`).sort()));
    for (const l of lists) assert.deepEqual(l, lists[0]);
    assert.deepEqual(lists[0], ids.map((id) => `${id}:cancelled`).sort());
    const cli = await sessionsCli(cluster, ["list", "--agent", "work"]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual((JSON.parse(cli.stdout) as { execution_id: string; status: string }[]).map((r) => `${r.execution_id}:${r.status}`).sort(), lists[0]);

    const stats = await Promise.all(cluster.nodes.map(async (n) => (await n.control("/stats")).body));
    for (const s of stats) {
      const nodes = s.nodes as { pid: number }[];
      assert.deepEqual(nodes.map((n) => n.pid).sort(), cluster.nodes.map((n) => n.pid).sort(), "stats lists the three nodes");
      const api = (s.streams as Record<string, { status_counts: Record<string, number> }>)[Object.keys(s.streams as object).find((k) => k.endsWith("api"))!]!;
      assert.equal(api.status_counts.cancelled, ids.length, "cancelled counted once, whichever node finished it");
    }

    // The CLI talks to any node with the shared token.
    const cliTrigger = await runCli(
      ["trigger", "api", "--agent", "work", "--url", third.info.url, "--token", cluster.token, "--input", JSON.stringify({ sleep_ms: 10 }), "--wait", "--json"],
      { timeoutMs: 60_000 },
    );
    assert.equal(cliTrigger.code, 0, cliTrigger.stderr);
    assert.equal((JSON.parse(cliTrigger.stdout) as { status: string }).status, "completed");
    const cliStats = await runCli(["stats", "--url", first.info.url, "--token", cluster.token, "--json"], { timeoutMs: 30_000 });
    assert.equal(cliStats.code, 0, cliStats.stderr);
    assert.equal((JSON.parse(cliStats.stdout) as { nodes: unknown[] }).nodes.length, 3);
  });

  test("7. Redis away for 3 s: 503 + Retry-After, /health says why, nodes reconnect, nothing accepted is lost", { todo: TODO[7], timeout: 120_000 }, async (t) => {
    // appendfsync always: what was acknowledged is on disk before redis-server is killed (under
    // everysec a busy machine may postpone the write past the SIGKILL, which this test is not about).
    const own = await startRedis(["--appendfsync", "always"]);
    try {
      const cluster = await startCluster(t, "away", ["work.yaml"], {}, own);
      const accepted: string[] = [];
      for (let i = 0; i < 6; i++) {
        const answer = await cluster.nodes[i % 3]!.trigger("work", "api", { sleep_ms: i < 3 ? 50 : 1_500 });
        assert.equal(answer.status, 202);
        accepted.push(String(answer.body.execution_id));
      }
      await waitFor("the long ones to run", async () => (await cluster.spans()).filter((s) => s.kind === "start").length >= 4 || undefined, { timeoutMs: 20_000, stepMs: 20 });

      await own.kill();
      const down = Date.now();
      for (const node of cluster.nodes) {
        const health = await waitFor(`node ${node.index} /health to say Redis is away`, async () => {
          const res = await node.control("/health");
          return res.status === 503 ? res : undefined;
        }, { timeoutMs: 15_000, stepMs: 100 });
        assert.equal(health.body.status, "redis_unavailable", JSON.stringify(health.body));
        assert.match(String((health.body.checks as Record<string, string>).redis), /^redis_unavailable/);
        const trigger = await node.trigger("work", "api", { sleep_ms: 10 });
        assert.equal(trigger.status, 503, `trigger while Redis is away: ${JSON.stringify(trigger.body)}`);
        assert.equal((trigger.body.error as { code: string }).code, "redis_unavailable");
        assert.match(trigger.headers.get("retry-after") ?? "", /^\d+$/);
        const hook = await node.deliver(`away-${node.index}`, { sleep_ms: 10 });
        assert.equal(hook.status, 503, `webhook while Redis is away: ${JSON.stringify(hook.body)}`);
        assert.match(hook.headers.get("retry-after") ?? "", /^\d+$/);
      }
      const left = 3_000 - (Date.now() - down);
      if (left > 0) await new Promise((resolve) => setTimeout(resolve, left)); // the outage lasts 3 s
      await own.restart();

      for (const node of cluster.nodes) {
        await waitFor(`node ${node.index} /health back to 200`, async () => (await node.control("/health")).status === 200 || undefined, { timeoutMs: 30_000, stepMs: 100 });
      }
      for (let i = 0; i < 3; i++) {
        const answer = await cluster.nodes[i]!.trigger("work", "api", { sleep_ms: 10 });
        assert.equal(answer.status, 202, JSON.stringify(answer.body));
        accepted.push(String(answer.body.execution_id));
        const hook = await cluster.nodes[i]!.deliver(`away-${i}`, { sleep_ms: 10 });
        assert.equal(hook.status, 202, `the delivery refused during the outage is taken now: ${JSON.stringify(hook.body)}`);
        accepted.push(...(hook.body.executions as string[]));
      }
      const records = await cluster.waitTerminal("work", accepted, 45_000);
      for (const id of accepted) assert.equal(records.get(id)!.status, "completed", `${id}: ${JSON.stringify(records.get(id))}`);
    } finally {
      await own.stop();
    }
  });

  test("8. SIGTERM on one node drains its running executions; its queued ones run on the others", { todo: TODO[8], timeout: 120_000 }, async (t) => {
    const cluster = await startCluster(t, "drain", ["work.yaml"], { API_CONCURRENCY: "6", GLOBAL_CONCURRENCY: "6" });
    const answers = await pool(24, 6, (i) => withRetry(() => cluster.nodes[i % 3]!.trigger("work", "api", { sleep_ms: 2_000 })));
    const ids = answers.map((a) => {
      assert.equal(a.status, 202, JSON.stringify(a.body));
      return String(a.body.execution_id);
    });
    // Any node running an execution while at least six more wait in the queue.
    const { leaving, draining } = await waitFor("a node running an execution with work still queued", async () => {
      const spans = await cluster.spans();
      if (new Set(spans.filter((s) => s.kind === "start").map((s) => s.id)).size > ids.length - 6) throw new Error("the queue ran dry before a node could be stopped");
      for (const node of cluster.nodes) {
        const running = await cluster.runningOn(node.pid);
        if (running.length > 0) return { leaving: node, draining: running };
      }
      return undefined;
    }, { timeoutMs: 30_000, stepMs: 10 });
    const redisClient = await cluster.commands();
    const [seconds, micros] = await redisClient.time();
    const signalledAt = Number(seconds) * 1000 + Number(micros) / 1000;
    leaving.kill("SIGTERM");
    assert.equal((await leaving.exited).code, 0, leaving.log().slice(-2_000));

    const records = await cluster.waitTerminal("work", ids, 60_000);
    for (const id of ids) assert.equal(records.get(id)!.status, "completed", `${id}: ${JSON.stringify(records.get(id))}`);
    const spans = await cluster.spans();
    for (const id of draining) assert.ok(spans.some((s) => s.id === id && s.kind === "end" && s.pid === leaving.pid && s.attempt === 1), `${id} finished on the draining node`);
    // A job the node took just before the signal writes its start span a little later (slot,
    // worker thread): a start more than a second after the signal is work it took while draining.
    const startedAfter = spans.filter((s) => s.kind === "start" && s.pid === leaving.pid && s.t > signalledAt + 1_000);
    assert.deepEqual(startedAfter.map((s) => s.id), [], "a draining node takes no new work");
    assert.ok(spans.some((s) => s.kind === "start" && s.pid !== leaving.pid && s.t > signalledAt), "the others ran what was still queued");
  });
});
