/**
 * Scenarios 3 and 4: a flood of signed webhooks into a small entry point,
 * and one delivery id sent many times at once. Exact accounting: every 202
 * leads to exactly one execution, nothing else runs, nothing is 5xx.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tempDir } from "../helpers/cli.js";
import { auditStorage, deliver, pool, recordsOnDisk, startServe, stopHard, type ServeProcess } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";
import type { ErrorBody, WebhookBody } from "../helpers/api-types.js";

const FLOOD_REQUESTS = Number(process.env.FORAGER_FLOOD_REQUESTS ?? 5000);
const FLOOD_CONCURRENCY = 100;

interface Outcome {
  i: number;
  status: number;
  /** The answer, or the network error's message. */
  body: (WebhookBody & Partial<ErrorBody>) | string;
  retryAfter: string | null;
}

/** The execution ids a 202 answer names (none for any other answer). */
const executionsOf = (r: Outcome): string[] => (typeof r.body === "string" ? [] : (r.body.executions ?? []));
const bodyOf = (r: Outcome) => (typeof r.body === "string" ? undefined : r.body);

describe("webhook flood and redelivery", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let serve: ServeProcess | undefined;
  before(async () => {
    dir = await tempDir("forager-rel-flood-");
    serve = await startServe(dir.path, {
      env: { HOOK_CONCURRENCY: "5", HOOK_QUEUED: "1000", TICK_SECONDS: "3600", LOG_LEVEL: "warn" },
    });
  });
  after(async () => {
    await stopHard(serve);
    await dir.cleanup();
  });

  let responses: Outcome[] = [];
  let accepted: Outcome[] = [];
  let rejected: Outcome[] = [];
  let sendMs = 0;
  let summary = "";

  before(async () => {
    const s = serve!;
    const started = Date.now();
    responses = await pool(FLOOD_REQUESTS, FLOOD_CONCURRENCY, (i) =>
      deliver(s.info.webhook_url!, `flood-${i}`, { action: "opened", n: i, sleep_ms: 20 }).then(
        (r) => ({ i, status: r.status, body: r.body, retryAfter: r.headers.get("retry-after") }),
        (err: Error) => ({ i, status: -1, body: err.message, retryAfter: null }),
      ),
    );
    sendMs = Date.now() - started;
    const byStatus = new Map<number, number>();
    for (const r of responses) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    summary = JSON.stringify(Object.fromEntries(byStatus));
    accepted = responses.filter((r) => r.status === 202);
    rejected = responses.filter((r) => r.status === 429);
    await waitFor(
      "the queue to drain",
      async () => {
        const stats = (await (await s.control("/stats")).json()) as { active_executions: number; queued_executions: number };
        return stats.active_executions === 0 && stats.queued_executions === 0;
      },
      { timeoutMs: 90_000, stepMs: 250 },
    );
    s.kill("SIGTERM");
    const exit = await s.exited;
    const empty = accepted.filter((r) => executionsOf(r).length === 0).length;
    console.log(
      `# flood: ${FLOOD_REQUESTS} requests at concurrency ${FLOOD_CONCURRENCY} in ${sendMs} ms ` +
        `(${Math.round((FLOOD_REQUESTS / sendMs) * 1000)}/s): ${summary}; 202s without an execution: ${empty}; ` +
        `drained after ${Date.now() - started} ms; serve exit ${JSON.stringify(exit)}`,
    );
  });

  test(`${FLOOD_REQUESTS} signed webhooks at concurrency ${FLOOD_CONCURRENCY}: every response is 202 or 429, never 5xx`, () => {
    for (const r of responses) assert.ok([202, 429].includes(r.status), `delivery ${r.i}: status ${r.status} (${summary})`);
    // The queue holds 1000 and 5 run at once; the flood outpaces them, so some must be refused.
    assert.ok(rejected.length > 0, `a flood past max_queued must see 429s (${summary})`);
    assert.ok(accepted.length >= 1005, `at least queue + running must be accepted (${summary})`);
    for (const r of rejected) assert.ok(Number(r.retryAfter) >= 1, "every 429 says when to retry");
  });

  test("no execution runs without a 202, each runs once and completes, storage is intact", () => {
    const ids = new Set<string>();
    for (const r of accepted) {
      assert.equal(bodyOf(r)?.status, "accepted");
      assert.ok(executionsOf(r).length <= 1, `delivery ${r.i} started ${executionsOf(r).length} executions`);
      for (const id of executionsOf(r)) {
        assert.ok(!ids.has(id), `execution ${id} answered two deliveries`);
        ids.add(id);
      }
    }
    const hookRecords = [...recordsOnDisk(dir.path).values()].filter((r) => r.entry_point === "hook");
    assert.equal(hookRecords.length, ids.size, "executions on disk == executions named in 202s");
    for (const record of hookRecords) {
      assert.ok(ids.has(record.execution_id), `execution ${record.execution_id} ran without a 202`);
      assert.equal(record.status, "completed", `${record.execution_id} ended ${record.status}`);
    }
    const ran = new Set(hookRecords.map((r) => r.input?.event?.data?.payload?.n));
    assert.equal(ran.size, hookRecords.length, "no payload ran twice");
    const audit = auditStorage(dir.path);
    assert.deepEqual(audit.corrupt, []);
    assert.deepEqual(audit.tempFiles, []);
  });

  test(
    "every 202 leads to exactly one execution (count of executions == count of 202s)",
    () => {
      const empty = accepted.filter((r) => executionsOf(r).length !== 1).map((r) => r.i);
      assert.deepEqual(empty.slice(0, 10), [], `${empty.length} of ${accepted.length} 202s started no execution`);
      const executions = [...recordsOnDisk(dir.path).values()].filter((r) => r.entry_point === "hook").length;
      assert.equal(executions, accepted.length);
    },
  );
});

describe("redelivery", () => {
  test("the same delivery id sent 20 times at once runs once", async () => {
    const dir = await tempDir("forager-rel-redeliver-");
    const serve = await startServe(dir.path, { env: { TICK_SECONDS: "3600", LOG_LEVEL: "warn" } });
    try {
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => deliver(serve.info.webhook_url!, "same-delivery-id", { action: "opened", sleep_ms: 50 })),
      );
      const accepted = responses.filter((r) => r.status === 202);
      const duplicates = responses.filter((r) => r.status === 200);
      assert.equal(accepted.length, 1, `statuses: ${responses.map((r) => r.status).join(",")}`);
      assert.equal(duplicates.length, 19);
      for (const d of duplicates) assert.deepEqual(d.body, { status: "duplicate", event_id: accepted[0]!.body.event_id });
      const executionId = accepted[0]!.body.executions![0]!;
      await waitFor("the execution", async () => {
        const r = (await (await serve.control(`/executions/${executionId}`)).json()) as { status: string };
        return r.status === "completed" ? r : undefined;
      });
      // And again after it finished: still a duplicate, still one execution.
      const late = await deliver(serve.info.webhook_url!, "same-delivery-id", { action: "opened" });
      assert.equal(late.status, 200);
      serve.kill("SIGTERM");
      assert.equal((await serve.exited).code, 0);
      const records = [...recordsOnDisk(dir.path).values()].filter((r) => r.entry_point === "hook");
      assert.deepEqual(records.map((r) => r.execution_id), [executionId]);
    } finally {
      await stopHard(serve);
      await dir.cleanup();
    }
  });
});
