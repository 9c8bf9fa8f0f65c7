import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { ControlApi } from "../../src/server/control-api.js";
import { WebhookStats } from "../../src/server/webhook-stats.js";
import { TriggerError } from "../../src/runtime/types.js";
import { FakeRuntime, resultFor } from "./fake-runtime.js";
import { waitFor } from "../helpers/wait.js";
import type { ErrorBody, ExecutionResult, HealthBody, StatsBody, TriggerBody } from "../helpers/api-types.js";

const TOKEN = "test-token-0123456789";
let runtime: FakeRuntime;
let api: ControlApi;
let base: string;
let webhooks: WebhookStats;

beforeEach(async () => {
  runtime = new FakeRuntime();
  webhooks = new WebhookStats(["github"]);
  api = new ControlApi({ runtime, token: TOKEN, webhooks, heartbeatMs: 50 });
  base = await api.listen("127.0.0.1", 0);
});
afterEach(() => api.close(100));

function call(method: string, path: string, body?: unknown, token: string | null = TOKEN) {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
}

describe("authentication", () => {
  test("every route but GET /health needs the token; a refused request does nothing", async () => {
    assert.equal((await call("GET", "/health", undefined, null)).status, 200);
    for (const token of [null, "wrong", `${TOKEN}x`, ""]) {
      assert.equal((await call("POST", "/timers/pause", undefined, token)).status, 401);
      assert.equal((await call("POST", "/entry-points/api/trigger", {}, token)).status, 401);
      assert.equal((await call("GET", "/stats", undefined, token)).status, 401);
      assert.equal((await call("GET", "/unknown", undefined, token)).status, 401);
    }
    assert.equal(runtime.timersPaused, false);
    assert.equal(runtime.submitted.length, 0);
  });
});

describe("routes", () => {
  test("health is 503 while draining", async () => {
    assert.deepEqual(await (await call("GET", "/health")).json(), { status: "ok", checks: { draining: "ok" } });
    api.startDraining();
    const res = await call("GET", "/health");
    assert.equal(res.status, 503);
    const body = (await res.json()) as HealthBody;
    assert.equal(body.status, "draining");
    assert.deepEqual(body.failing, ["draining"]);
    assert.equal((await call("POST", "/entry-points/api/trigger", {})).status, 503);
    assert.equal(runtime.submitted.length, 0);
  });

  test("stats carry the runtime's numbers and the webhook counters", async () => {
    webhooks.record("github", "accepted", 202);
    webhooks.record("github", "duplicates", 200);
    const stats = (await (await call("GET", "/stats")).json()) as StatsBody;
    assert.equal(stats.streams["demo/api"]!.available_slots, 8);
    assert.deepEqual(stats.webhooks, { github: { accepted: 1, rejected: 0, duplicates: 1 } });
  });

  test("trigger: 202 with ids; agent prefix and input are passed on", async () => {
    const res = await call("POST", "/agents/demo/entry-points/api/trigger", { input: { q: "hi" }, idempotency_key: "k1" });
    assert.equal(res.status, 202);
    const body = (await res.json()) as TriggerBody;
    assert.match(body.execution_id, /^exec_/);
    assert.match(body.session_id, /^session_/);
    assert.equal(body.status, "queued");
    assert.deepEqual(runtime.submitted[0], { agent: "demo", entryPoint: "api", input: { q: "hi" }, idempotencyKey: "k1" });
  });

  test("trigger with wait: 200 and the result JSON; timeout bounds the wait", async () => {
    const res = await call("POST", "/entry-points/api/trigger", { wait: true });
    assert.equal(res.status, 200);
    const body = (await res.json()) as ExecutionResult;
    assert.equal(body.schema_version, 1);
    assert.equal(body.status, "completed");
    runtime.waitImpl = async (_id, options) => {
      assert.equal(options?.timeoutMs, 500);
      return undefined;
    };
    const late = await call("POST", "/entry-points/api/trigger", { wait: true, timeout: 0.5 });
    assert.equal(late.status, 202);
    const lateBody = (await late.json()) as TriggerBody;
    assert.equal(lateBody.status, "queued");
    assert.equal(lateBody.wait_timed_out, true);
  });

  test("trigger outcomes: skipped, rejected, duplicate, invalid input, unknown entry point", async () => {
    runtime.submitImpl = async () => ({ status: "skipped", reason: "busy" });
    const skipped = await call("POST", "/entry-points/api/trigger", {});
    assert.equal(skipped.status, 200);
    assert.equal(((await skipped.json()) as TriggerBody).status, "skipped");

    runtime.submitImpl = async () => ({ status: "rejected", reason: "queue full", retry_after_seconds: 3 });
    const rejected = await call("POST", "/entry-points/api/trigger", {});
    assert.equal(rejected.status, 429);
    assert.equal(rejected.headers.get("retry-after"), "3");
    const rejectedBody = (await rejected.json()) as TriggerBody;
    assert.equal(rejectedBody.status, "rejected");
    assert.equal(rejectedBody.error?.message, "queue full");

    runtime.submitImpl = async () => ({ status: "running", execution_id: "exec_first", session_id: "session_x", duplicate: true });
    const dup = await call("POST", "/entry-points/api/trigger", { idempotency_key: "same" });
    assert.equal(dup.status, 200);
    assert.deepEqual(await dup.json(), { execution_id: "exec_first", session_id: "session_x", status: "running", duplicate: true });

    runtime.submitImpl = async () => {
      throw new TriggerError("invalid_input", "input.q: required");
    };
    assert.equal((await call("POST", "/entry-points/api/trigger", {})).status, 400);
    runtime.submitImpl = async () => {
      throw new TriggerError("not_found", "no entry point nope");
    };
    const missing = await call("POST", "/agents/demo/entry-points/nope/trigger", {});
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as ErrorBody).error.code, "not_found");
  });

  test("malformed trigger bodies are 400 with an error object and never reach the runtime", async () => {
    for (const body of ["{bad", "[1]", JSON.stringify({ input: [1] }), JSON.stringify({ wait: "yes" }), JSON.stringify({ timeout: -1 }), JSON.stringify({ inputs: {} })]) {
      const res = await call("POST", "/entry-points/api/trigger", body);
      assert.equal(res.status, 400, body);
      const parsed = (await res.json()) as ErrorBody;
      assert.equal(typeof parsed.error.code, "string");
      assert.equal(typeof parsed.error.message, "string");
    }
    assert.equal(runtime.submitted.length, 0);
  });

  test("without an agent prefix while several agents are loaded: 400", async () => {
    runtime.agents = ["a", "b"];
    assert.equal((await call("POST", "/entry-points/api/trigger", {})).status, 400);
  });

  test("executions: get, list with filters, cancel; unknown ids are 404", async () => {
    runtime.executions.set("exec_a", resultFor("exec_a"));
    runtime.executions.set("exec_b", { ...resultFor("exec_b", "running"), success: false });
    assert.equal(((await (await call("GET", "/executions/exec_a")).json()) as ExecutionResult).status, "completed");
    assert.equal((await call("GET", "/executions/exec_zzz")).status, 404);
    const running = (await (await call("GET", "/executions?status=running&limit=5")).json()) as ExecutionResult[];
    assert.deepEqual(running.map((e) => e.execution_id), ["exec_b"]);
    assert.equal((await call("GET", "/executions?status=bogus")).status, 400);
    assert.equal((await call("GET", "/executions?limit=0")).status, 400);
    const cancelled = await call("POST", "/executions/exec_b/cancel");
    assert.equal(cancelled.status, 200);
    assert.equal(((await cancelled.json()) as ExecutionResult).status, "cancelled");
    assert.equal((await call("POST", "/executions/exec_zzz/cancel")).status, 404);
    const wrongMethod = await call("DELETE", "/executions/exec_a");
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get("allow"), "GET");
  });

  test("timers pause and resume", async () => {
    assert.deepEqual(await (await call("POST", "/timers/pause")).json(), { timers_paused: true });
    assert.equal(runtime.timersPaused, true);
    assert.deepEqual(await (await call("POST", "/timers/resume")).json(), { timers_paused: false });
    assert.equal(runtime.timersPaused, false);
  });

  test("stats, metrics and the timer routes answer only once the runtime's promise settles; a rejected one is a 500", async () => {
    // A shared backend answers these with a round trip: the route must wait for it, not read a pending value.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const original = runtime.getStats.bind(runtime);
    let asked = 0;
    runtime.getStats = async () => {
      asked++;
      await gate;
      return { ...(await original()), queued_executions: 77 };
    };
    runtime.pauseTimers = async () => {
      await gate;
      runtime.timersPaused = true;
    };
    const stats = call("GET", "/stats");
    const metrics = call("GET", "/metrics");
    const paused = call("POST", "/timers/pause");
    // Nothing can answer before the gate opens; wait until both stats requests reached the runtime.
    await waitFor("the second stats request", () => asked === 2);
    release();
    assert.equal(((await (await stats).json()) as StatsBody).queued_executions, 77);
    assert.match(await (await metrics).text(), /^forager_queued_executions 77$/m);
    assert.deepEqual(await (await paused).json(), { timers_paused: true });
    runtime.getStats = () => Promise.reject(new Error("backend unreachable"));
    const failed = await call("GET", "/stats");
    assert.equal(failed.status, 500);
    assert.equal(((await failed.json()) as ErrorBody).error.code, "internal_error");
  });

  test("metrics: Prometheus text, every line a comment or a sample", async () => {
    runtime.publish({ type: "execution_started", execution_id: "e1", graph_id: "demo", stream_id: "api", timestamp: "2026-01-01T00:00:00.000Z" });
    runtime.publish({ type: "execution_completed", execution_id: "e1", graph_id: "demo", stream_id: "api", timestamp: "2026-01-01T00:00:02.000Z" });
    runtime.publish({ type: "llm_turn_complete", graph_id: "demo", data: { usage: { input_tokens: 100, output_tokens: 20 } } });
    webhooks.record("github", "rejected", 401);
    const res = await call("GET", "/metrics");
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? -?(\d+(\.\d+)?(e[+-]?\d+)?|\+Inf|NaN)$/;
    for (const line of text.trimEnd().split("\n")) {
      assert.ok(line.startsWith("# HELP ") || line.startsWith("# TYPE ") || sample.test(line), `bad line: ${line}`);
    }
    assert.match(text, /forager_executions\{agent="demo",entry_point="api",status="completed"\} 40/);
    assert.match(text, /forager_execution_duration_seconds_bucket\{agent="demo",entry_point="api",status="completed",le="2.5"\} 1/);
    assert.match(text, /forager_execution_duration_seconds_sum\{agent="demo",entry_point="api",status="completed"\} 2/);
    assert.match(text, /forager_llm_tokens_total\{agent="demo",direction="input"\} 100/);
    assert.match(text, /forager_webhook_requests_total\{source_id="github",status="401"\} 1/);
    assert.match(text, /forager_timer_skips_total\{timer="demo\/tick"\} 1/);
    assert.match(text, /forager_queue_depth\{agent="demo",entry_point="api"\} 1/);
  });

  test("events: SSE filtered by ?types=, heartbeats, unsubscribed on close", async () => {
    assert.equal((await call("GET", "/events?types=nope")).status, 400);
    const received = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${base}/events?types=execution_completed,TIMER_FIRED`, { headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
        assert.equal(res.headers["content-type"], "text/event-stream; charset=utf-8");
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes("event: timer_fired") && text.includes(": heartbeat")) {
            req.destroy();
            resolve(text);
          }
        });
        // Publish once the subscription exists.
        setTimeout(() => {
          runtime.publish({ type: "node_started", execution_id: "e1" });
          runtime.publish({ type: "execution_completed", execution_id: "e1" });
          runtime.publish({ type: "timer_fired", stream_id: "tick" });
        }, 20);
      });
      req.on("error", reject);
      req.end();
    });
    assert.match(received, /event: execution_completed\ndata: \{.*"execution_id":"e1"/);
    // Observers see the cluster; the metrics collector counts this process only.
    assert.deepEqual(runtime.scopes, ["local", "cluster"]);
    assert.doesNotMatch(received, /node_started/);
    // The metrics collector keeps its own subscription; the SSE one must be gone.
    await waitFor("the SSE subscription to end", () => runtime.subscribers.size <= 1);
    assert.equal(runtime.subscribers.size, 1);
    assert.equal([...runtime.subscribers][0]!.scope, "local");
  });
});
