/**
 * Scenarios 1 and 2: `kill -9` of `serve` under load, then a restart on
 * the same storage; and SIGTERM under load (drain). Exact accounting: every
 * 202 (trigger or webhook) is found on disk afterwards, finished or
 * recorded as interrupted/cancelled with its input.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { tempDir } from "../helpers/cli.js";
import { auditStorage, deliver, pool, recordsOnDisk, sleep, startServe, stopHard, type DiskRecord, type ServeProcess } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";
import type { StatsBody, TriggerBody } from "../helpers/api-types.js";

interface Accepted {
  kind: "trigger" | "webhook";
  executionId: string;
  eventId?: string;
  n: number;
  sentAt: number;
}

/** Triggers the api entry point; resolves with the 202 body or the status. */
async function trigger(serve: ServeProcess, input: Record<string, unknown>): Promise<{ status: number; body: TriggerBody }> {
  const res = await serve.control("/entry-points/api/trigger", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input }),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as TriggerBody };
}

/** Sends webhooks from `workers` loops until `stop` is set or the server goes away. */
function webhookStream(serve: ServeProcess, prefix: string, workers: number, sleepMs: number) {
  const accepted: Accepted[] = [];
  const refused: Array<{ status: number; sentAt: number; n: number }> = [];
  const failures: Array<{ error: string; sentAt: number }> = [];
  let stop = false;
  let n = 0;
  const loops = Array.from({ length: workers }, async () => {
    while (!stop) {
      const i = n++;
      const sentAt = performance.now();
      try {
        const r = await deliver(serve.info.webhook_url!, `${prefix}-${i}`, { action: "opened", n: i, sleep_ms: sleepMs });
        if (r.status === 202) {
          for (const id of r.body.executions ?? []) accepted.push({ kind: "webhook", executionId: id, eventId: r.body.event_id, n: i, sentAt });
          if ((r.body.executions ?? []).length === 0) accepted.push({ kind: "webhook", executionId: "", eventId: r.body.event_id, n: i, sentAt });
        } else refused.push({ status: r.status, sentAt, n: i });
      } catch (err) {
        failures.push({ error: (err as Error).message, sentAt });
        await sleep(20);
      }
    }
  });
  return {
    accepted,
    refused,
    failures,
    sent: () => n,
    async stop() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

describe("crash: kill -9 of serve under load, then restart on the same storage", () => {
  test("every accepted webhook and trigger is accounted for, no corrupt JSON, no timer tick fired twice", async () => {
    const dir = await tempDir("forager-rel-crash-");
    let first: ServeProcess | undefined;
    let second: ServeProcess | undefined;
    try {
      const env = { API_CONCURRENCY: "50", HOOK_CONCURRENCY: "5", GLOBAL_CONCURRENCY: "100", TICK_SECONDS: "1", LOG_LEVEL: "warn" };
      first = await startServe(dir.path, { env });
      const s = first;
      // 100 long triggers: 50 run (api max_concurrent 50), 50 wait in the queue.
      const triggers: Accepted[] = [];
      await pool(100, 10, async (i) => {
        const r = await trigger(s, { n: i, sleep_ms: 120_000 });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        triggers.push({ kind: "trigger", executionId: r.body.execution_id, n: i, sentAt: 0 });
      });
      const loaded = (await (await s.control("/stats")).json()) as StatsBody;
      assert.equal(loaded.streams["loadtest/api"]!.status_counts.running, 50);
      assert.equal(loaded.streams["loadtest/api"]!.status_counts.queued, 50);

      const stream = webhookStream(s, "crash", 10, 30);
      await waitFor("webhooks and timer ticks to flow", async () => {
        const stats = (await (await s.control("/stats")).json()) as StatsBody;
        return stream.accepted.length >= 50 && (stats.timers["loadtest/tick"]?.fired ?? 0) >= 2 ? true : undefined;
      });
      s.child.kill("SIGKILL");
      const exit = await s.exited;
      await stream.stop();
      assert.equal(exit.signal, "SIGKILL");

      const afterCrash = auditStorage(dir.path, { allowTornTail: true });
      assert.deepEqual(afterCrash.corrupt, [], "no whole-file JSON is half-written after kill -9");
      const before = recordsOnDisk(dir.path);
      const tickScheduledBefore = [...before.values()].filter((r) => r.entry_point === "tick").length;

      second = await startServe(dir.path, { env });
      const r2 = second;
      await waitFor("a timer tick after the restart", async () => {
        const stats = (await (await r2.control("/stats")).json()) as StatsBody;
        return (stats.timers["loadtest/tick"]?.fired ?? 0) >= 2 ? true : undefined;
      });
      // Every record the control API reports for the accepted ids.
      const webhooks = stream.accepted;
      const lost: string[] = [];
      for (const a of [...triggers, ...webhooks]) {
        if (a.executionId === "") continue; // a 202 without an execution: counted by the flood scenario's defect
        const res = await r2.control(`/executions/${a.executionId}`);
        if (res.status !== 200) {
          lost.push(`${a.kind} ${a.n} (${a.executionId}): HTTP ${res.status}`);
          continue;
        }
        const record = (await res.json()) as { status: string };
        if (!["completed", "interrupted", "cancelled"].includes(record.status)) lost.push(`${a.kind} ${a.n}: ${record.status}`);
      }
      assert.deepEqual(lost, [], "every accepted execution is finished or recorded interrupted/cancelled");
      r2.kill("SIGTERM");
      assert.equal((await r2.exited).code, 0);

      const records = recordsOnDisk(dir.path);
      for (const t of triggers) {
        const record = records.get(t.executionId)!;
        assert.equal(record.status, "interrupted", `trigger ${t.n} was running or queued at the crash`);
        assert.deepEqual(record.input, { n: t.n, sleep_ms: 120_000 }, "the input is kept so it can be re-run");
      }
      const hookEvents = new Set(
        readdirSync(join(dir.path, "_events", "github"))
          .map((day) => readFileSync(join(dir.path, "_events", "github", day), "utf8"))
          .join("")
          .split("\n")
          .filter((line) => line.trim() !== "")
          .map((line) => (JSON.parse(line) as { id: string }).id),
      );
      for (const w of webhooks) {
        assert.ok(hookEvents.has(w.eventId!), `the event of accepted webhook ${w.n} is on disk`);
        if (w.executionId === "") continue;
        const record = records.get(w.executionId)!;
        assert.ok(["completed", "interrupted"].includes(record.status), `webhook ${w.n}: ${record.status}`);
        assert.equal(record.input?.event?.data?.payload?.n, w.n, "the webhook's payload is kept with its execution");
      }
      // No tick fired twice for one scheduled time, across the crash and the restart.
      const ticks = [...records.values()].filter((r) => r.entry_point === "tick");
      const byScheduled = new Map<string, number>();
      for (const r of ticks) {
        const at = r.input?.event?.scheduled_at as string;
        byScheduled.set(at, (byScheduled.get(at) ?? 0) + 1);
      }
      const twice = [...byScheduled].filter(([, count]) => count > 1);
      assert.deepEqual(twice, [], "each scheduled time fires once");
      assert.ok(tickScheduledBefore >= 2 && ticks.length > tickScheduledBefore, "ticks fired before the crash and after the restart");
      for (const r of records.values()) assert.ok(!["running", "queued"].includes(r.status), `${r.execution_id} left ${r.status}`);
      const finalAudit = auditStorage(dir.path);
      assert.deepEqual(finalAudit.corrupt, []);
      console.log(
        `# crash: 100 triggers (50 running, 50 queued), ${webhooks.length} webhooks accepted of ${stream.sent()} sent ` +
          `(${stream.failures.length} refused by the dying process), ${ticks.length} timer executions, ` +
          `${afterCrash.jsonFiles} JSON files + ${afterCrash.jsonlLines} JSONL lines intact after kill -9, ${afterCrash.tempFiles.length} temp files left`,
      );
    } finally {
      await stopHard(first);
      await stopHard(second);
      await dir.cleanup();
    }
  });
});

describe("drain: SIGTERM under load", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let s: ServeProcess | undefined;
  const triggers: Array<Accepted & { sleepMs: number }> = [];
  const late: Array<{ status: number; sentAt: number }> = [];
  let stream: ReturnType<typeof webhookStream>;
  let exit: { code: number | null; signal: NodeJS.Signals | null };
  let signalAt = 0;
  let exitedAt = 0;
  let records: Map<string, DiskRecord>;
  // A request sent a moment after the signal (100 ms: signal delivery and one turn of the event loop) is never accepted.
  const margin = 100;

  before(async () => {
    dir = await tempDir("forager-rel-drain-");
    s = await startServe(dir.path, { env: { API_CONCURRENCY: "20", GRACE_SECONDS: "2", TICK_SECONDS: "3600", LOG_LEVEL: "info" } });
    const serve = s;
    // 10 short (finish within the grace), 10 long (cancelled at its end), 10 queued behind them.
    await pool(30, 5, async (i) => {
      const sleepMs = i < 10 ? 800 : 60_000;
      const r = await trigger(serve, { n: i, sleep_ms: sleepMs });
      assert.equal(r.status, 202);
      triggers.push({ kind: "trigger", executionId: r.body.execution_id, n: i, sentAt: 0, sleepMs });
    });
    stream = webhookStream(serve, "drain", 5, 50);
    await waitFor("webhooks to flow", () => (stream.accepted.length >= 20 ? true : undefined));
    signalAt = performance.now();
    serve.child.kill("SIGTERM");
    // Keep knocking with triggers after the signal as well.
    const knock = (async () => {
      for (let i = 0; i < 10 && serve.child.exitCode === null; i++) {
        const sentAt = performance.now();
        try {
          late.push({ status: (await trigger(serve, { n: 1000 + i, sleep_ms: 1 })).status, sentAt });
        } catch {
          late.push({ status: -1, sentAt });
        }
        await sleep(100);
      }
    })();
    exit = await serve.exited;
    exitedAt = performance.now();
    await stream.stop();
    await knock;
    records = recordsOnDisk(dir.path);
    const counts: Record<string, number> = {};
    for (const r of records.values()) counts[r.status] = (counts[r.status] ?? 0) + 1;
    console.log(
      `# drain: 30 triggers + ${stream.accepted.length} webhooks accepted; after SIGTERM ${stream.refused.length} webhooks refused ` +
        `(503), exit ${exit.code} after ${Math.round(exitedAt - signalAt)} ms; records ${JSON.stringify(counts)}`,
    );
  });
  after(async () => {
    await stopHard(s);
    await dir.cleanup();
  });

  test("exit 0 within the grace, serve.json removed, no 202 after the signal", () => {
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(exitedAt - signalAt < 10_000, `drain took ${Math.round(exitedAt - signalAt)} ms with a 2 s grace`);
    assert.equal(existsSync(join(dir.path, "serve.json")), false, "serve.json removed");
    const lateWebhooks = stream.accepted.filter((a) => a.sentAt > signalAt + margin);
    assert.deepEqual(lateWebhooks.map((a) => a.n), [], "no webhook 202 after the signal");
    for (const r of stream.refused) assert.equal(r.status, 503, `webhook refused with ${r.status}`);
    for (const l of late.filter((x) => x.sentAt > signalAt + margin)) assert.ok(l.status === 503 || l.status === -1, `trigger after the signal: ${l.status}`);
    const audit = auditStorage(dir.path);
    assert.deepEqual(audit.corrupt, []);
    assert.deepEqual(audit.tempFiles, []);
  });

  test("triggers: short ones complete, long and queued ones are cancelled with reason shutdown and keep their input", () => {
    for (const t of triggers) {
      const record = records.get(t.executionId);
      assert.ok(record, `trigger ${t.n} is on disk`);
      if (t.sleepMs < 1000) assert.equal(record.status, "completed", `short trigger ${t.n}`);
      else {
        assert.equal(record.status, "cancelled", `long trigger ${t.n}`);
        assert.equal(record.error?.reason, "shutdown", `trigger ${t.n}: ${JSON.stringify(record.error)}`);
        assert.deepEqual(record.input, { n: t.n, sleep_ms: t.sleepMs });
      }
    }
  });

  test(
    "webhooks accepted around the signal end completed or cancelled (shutdown); nothing is left queued or running",
    () => {
      for (const w of stream.accepted) {
        if (w.executionId === "") continue;
        const record = records.get(w.executionId);
        assert.ok(record, `webhook ${w.n} is on disk`);
        assert.ok(
          record.status === "completed" || (record.status === "cancelled" && record.error?.reason === "shutdown"),
          `webhook ${w.n}: ${record.status} ${JSON.stringify(record.error)} queued_at ${record.queued_at}, sent ${Math.round(w.sentAt - signalAt)} ms after the signal`,
        );
      }
      for (const r of records.values()) assert.ok(!["running", "queued"].includes(r.status), `${r.execution_id} left ${r.status}`);
    },
  );
});
