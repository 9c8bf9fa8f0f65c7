/**
 * Scenario 8: `serve` with a one-second timer and a steady stream of
 * webhooks. Memory (RSS) and open file descriptors stay flat, no error is
 * logged, and every accepted webhook runs once. Duration: FORAGER_SOAK_SECONDS
 * (default 60; the issue asks for 120, which does not fit the suite budget).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { tempDir } from "../helpers/cli.js";
import { auditStorage, deliver, logLines, recordsOnDisk, sleep, startServe, stopHard } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";
import type { StatsBody } from "../helpers/api-types.js";

const SECONDS = Number(process.env.FORAGER_SOAK_SECONDS ?? 60);
const RATE = 20;
const WARMUP_SECONDS = Math.min(15, SECONDS / 4);

function sample(pid: number): { rssMb: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
  return { rssMb: rssKb / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test(`soak: ${SECONDS} s of a 1 s timer and ${RATE} webhooks/s: RSS and fds flat, no error logs`, { timeout: (SECONDS + 60) * 1000 }, async () => {
  const dir = await tempDir("forager-rel-soak-");
  const serve = await startServe(dir.path, { env: { TICK_SECONDS: "1", HOOK_CONCURRENCY: "5", LOG_LEVEL: "info" } });
  try {
    const samples: Array<{ t: number; rssMb: number; fds: number }> = [];
    const statuses = new Map<number, number>();
    const accepted: string[] = [];
    const inFlight = new Set<Promise<void>>();
    const start = Date.now();
    let sent = 0;
    let nextSample = start;
    // Paced: request k goes out at start + k / RATE seconds, whatever the previous ones took.
    while (Date.now() - start < SECONDS * 1000) {
      const due = start + (sent * 1000) / RATE;
      if (Date.now() < due) await sleep(due - Date.now());
      const n = sent++;
      const p: Promise<void> = deliver(serve.info.webhook_url!, `soak-${n}`, { action: "opened", n, sleep_ms: 10 }).then(
        (r) => {
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 202) accepted.push(...(r.body.executions as string[]));
        },
        () => {
          statuses.set(-1, (statuses.get(-1) ?? 0) + 1);
        },
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (Date.now() >= nextSample) {
        samples.push({ t: (Date.now() - start) / 1000, ...sample(serve.info.pid) });
        nextSample += 2000;
      }
    }
    await Promise.all(inFlight);
    await waitFor("the last executions", async () => {
      const stats = (await (await serve.control("/stats")).json()) as StatsBody;
      return stats.active_executions === 0 && stats.queued_executions === 0 ? true : undefined;
    });
    const stats = (await (await serve.control("/stats")).json()) as StatsBody;
    // The soak's own log, taken before the stop: the stop announces itself with a warning by design.
    const soakLog = serve.stderr();
    serve.kill("SIGTERM");
    assert.equal((await serve.exited).code, 0);

    const steady = samples.filter((s) => s.t >= WARMUP_SECONDS);
    const third = Math.max(1, Math.floor(steady.length / 3));
    const early = steady.slice(0, third);
    const late = steady.slice(-third);
    const rssEarly = mean(early.map((s) => s.rssMb));
    const rssLate = mean(late.map((s) => s.rssMb));
    const fdEarly = Math.max(...early.map((s) => s.fds));
    const fdLate = Math.max(...late.map((s) => s.fds));
    const ticks = stats.timers["loadtest/tick"]!;
    console.log(
      `# soak: ${SECONDS} s, ${sent} webhooks (${JSON.stringify(Object.fromEntries(statuses))}), timer fired ${ticks.fired} skipped ${ticks.skipped}; ` +
        `RSS ${rssEarly.toFixed(1)} -> ${rssLate.toFixed(1)} MB, fds ${fdEarly} -> ${fdLate} (max ${Math.max(...samples.map((s) => s.fds))})`,
    );
    assert.deepEqual([...statuses.keys()], [202], `every webhook accepted: ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok(sent >= SECONDS * RATE * 0.9, `paced sending kept up: ${sent}`);
    assert.ok(ticks.fired >= SECONDS * 0.8, `the 1 s timer fired ${ticks.fired} times in ${SECONDS} s`);
    // Flat: after warm-up, the late third may not exceed the early third by more than 25 MB or 30 %.
    assert.ok(rssLate - rssEarly < Math.max(25, rssEarly * 0.3), `RSS grew from ${rssEarly.toFixed(1)} to ${rssLate.toFixed(1)} MB`);
    assert.ok(fdLate <= fdEarly + 10, `open fds grew from ${fdEarly} to ${fdLate}`);
    const errors = logLines(soakLog).filter((l) => l.raw !== undefined || ["error", "fatal", "warn"].includes(String(l.level)));
    assert.deepEqual(errors.slice(0, 5), [], "no error or warning logs, no unstructured lines");
    const hookRecords = [...recordsOnDisk(dir.path).values()].filter((r) => r.entry_point === "hook");
    assert.equal(hookRecords.length, accepted.length, "one execution per accepted webhook");
    assert.ok(hookRecords.every((r) => r.status === "completed"));
    assert.deepEqual(auditStorage(dir.path).corrupt, []);
  } finally {
    await stopHard(serve);
    await dir.cleanup();
  }
});
