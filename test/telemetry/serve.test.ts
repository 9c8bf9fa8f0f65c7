// `forager serve` with OpenTelemetry on: a webhook's and a queued
// trigger's traceparent become their executions' parents, spans leave on
// drain, /metrics passes `promtool check metrics`, and the same metrics
// arrive over OTLP.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { binPath, repoRoot, tempDir } from "../helpers/cli.js";
import { waitFor } from "../helpers/wait.js";
import { OtlpReceiver, type ReceivedSpan } from "./otlp-receiver.js";

const AGENT = `
name: hooked
graph:
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
      filter_stream: inbox
  - id: api
    trigger_type: api
    max_concurrent: 1
    overlap: queue
runtime:
  control_port: 0
  webhook_port: 0
  webhook_routes:
    - source_id: inbox
      path: /hooks/inbox
      allow_unsigned: true
`;

const STEPS = `
import { existsSync } from "node:fs";
// Holds the execution until the test creates the gate file (bounded: 30 s).
export async function work({ input }) {
  for (let i = 0; input.gate && !existsSync(input.gate) && i < 600; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return { done: true };
}
`;

const WEBHOOK_TRACE = "0af7651916cd43dd8448eb211c80319c";
const WEBHOOK_PARENT = "b7ad6b7169203331";
const QUEUED_TRACE = "5b8efff798038103d269b633813fc60c";
const QUEUED_PARENT = "eee19b7ec3c1b174";

let dir: { path: string; cleanup: () => Promise<void> };
const receiver = new OtlpReceiver();
let child: ChildProcess | undefined;

before(async () => {
  dir = await tempDir("forager-otel-serve-");
  await writeFile(join(dir.path, "hooked.yaml"), AGENT);
  await writeFile(join(dir.path, "steps.mjs"), STEPS);
  await receiver.start();
});
after(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  await receiver.stop();
  await dir.cleanup();
});

function rootOf(executionId: string): ReceivedSpan | undefined {
  return receiver.spans.find((s) => s.name === "forager.execution hooked/" + s.attributes["forager.entry_point"] && s.attributes["forager.execution_id"] === executionId);
}

describe("forager serve with OTLP export", () => {
  test("traceparent from a webhook and a queued trigger, promtool-clean /metrics, metrics over OTLP", async () => {
    const storage = join(dir.path, "storage");
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NO_COLOR: "1",
      LOG_LEVEL: "warn",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_METRICS_EXPORTER: "otlp",
      OTEL_METRIC_EXPORT_INTERVAL: "300",
    };
    const proc = spawn(process.execPath, [binPath, "serve", join(dir.path, "hooked.yaml"), "--storage", storage], { cwd: repoRoot, env, stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    let stderr = "";
    proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
    await waitFor("serve.json or the process to exit", () => existsSync(join(storage, "serve.json")) || proc.exitCode !== null, { timeoutMs: 30_000 });
    assert.equal(proc.exitCode, null, stderr);
    const info = JSON.parse(await readFile(join(storage, "serve.json"), "utf8")) as { url: string; token: string; webhook_url: string };
    const auth = { authorization: `Bearer ${info.token}`, "content-type": "application/json" };

    // A webhook carrying a trace context.
    const hook = await fetch(`${info.webhook_url}/hooks/inbox`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: `00-${WEBHOOK_TRACE}-${WEBHOOK_PARENT}-01` },
      body: JSON.stringify({ hello: "world" }),
    });
    assert.equal(hook.status, 202, await hook.clone().text());
    const hookBody = (await hook.json()) as { executions?: string[]; execution_ids?: string[] };
    const hookExecution = (hookBody.executions ?? hookBody.execution_ids ?? [])[0];
    assert.ok(hookExecution, JSON.stringify(hookBody));

    // Two triggers on a one-at-a-time entry point: the second waits in the queue with its traceparent.
    const trigger = async (input: Record<string, unknown>, traceparent?: string) => {
      const res = await fetch(`${info.url}/entry-points/api/trigger`, {
        method: "POST",
        headers: traceparent ? { ...auth, traceparent } : auth,
        body: JSON.stringify({ input }),
      });
      assert.equal(res.status, 202);
      return (await res.json()) as { execution_id: string; status: string };
    };
    const gate = join(dir.path, "gate");
    const first = await trigger({ gate }, "00-ffffffffffffffffffffffffffffffff-not-a-valid-one");
    const queued = await trigger({}, `00-${QUEUED_TRACE}-${QUEUED_PARENT}-01`);
    assert.equal(queued.status, "queued");
    await writeFile(gate, "");

    const finished = async (id: string) => {
      const res = await fetch(`${info.url}/executions/${id}`, { headers: auth });
      const body = (await res.json()) as { status: string };
      return body.status === "completed";
    };
    await waitFor("the three executions to finish", async () => (await finished(hookExecution)) && (await finished(first.execution_id)) && (await finished(queued.execution_id)), { timeoutMs: 30_000, stepMs: 50 });

    // /metrics: Prometheus naming, checked by promtool when it is installed.
    const metrics = await (await fetch(`${info.url}/metrics`, { headers: auth })).text();
    assert.match(metrics, /^forager_executions_finished_total\{agent="hooked",entry_point="api",status="completed"\} 2$/m);
    assert.match(metrics, /^forager_execution_duration_seconds_count\{agent="hooked",entry_point="hook",status="completed"\} 1$/m);
    assert.match(metrics, /^forager_execution_duration_seconds_bucket\{agent="hooked",entry_point="api",status="completed",le="\+Inf"\} 2$/m);
    assert.match(metrics, /^forager_webhook_requests_total\{source_id="inbox",status="202"\} 1$/m);
    assert.match(metrics, /^# TYPE forager_timer_lateness_seconds histogram$/m);
    assert.match(metrics, /^forager_queue_depth\{agent="hooked",entry_point="api"\} 0$/m);
    const promtool = spawnSync("promtool", ["check", "metrics"], { input: metrics, encoding: "utf8" });
    if (promtool.error) {
      // CI installs it (.ci/run); elsewhere the check is skipped, loudly.
      assert.notEqual(process.env.CI, "true", "promtool is missing in CI: .ci/run installs Debian's prometheus package");
      process.stderr.write("promtool not installed (apt-get install prometheus): `promtool check metrics` skipped\n");
    } else {
      assert.equal(promtool.status, 0, `promtool check metrics:\n${promtool.stdout}${promtool.stderr}`);
    }

    // The same instruments over OTLP.
    await waitFor("the duration histogram with two points", () => receiver.metrics.some((m) => m.name === "forager.execution.duration" && m.points.some((p) => p.count === 2)), { timeoutMs: 15_000, stepMs: 50 });
    const duration = receiver.metrics.find((m) => m.name === "forager.execution.duration" && m.points.some((p) => p.count === 2))!;
    assert.equal(duration.kind, "histogram");
    assert.equal(duration.unit, "s");
    const apiPoint = duration.points.find((p) => p.attributes.entry_point === "api")!;
    assert.deepEqual(apiPoint.attributes, { agent: "hooked", entry_point: "api", status: "completed" });
    assert.ok(receiver.metrics.some((m) => m.name === "forager.webhook.requests" && m.kind === "sum"));

    // Drain: the spans leave before the process exits.
    proc.kill("SIGTERM");
    assert.equal(await exited, 0, stderr);

    const hookRoot = rootOf(hookExecution);
    assert.ok(hookRoot, `the webhook's execution was traced (spans: ${receiver.spans.map((s) => s.name).join(", ")})`);
    assert.equal(hookRoot.name, "forager.execution hooked/hook");
    assert.equal(hookRoot.traceId, WEBHOOK_TRACE, "the webhook's trace continues");
    assert.equal(hookRoot.parentSpanId, WEBHOOK_PARENT);
    const hookNode = receiver.spans.find((s) => s.traceId === WEBHOOK_TRACE && s.name === "forager.node work");
    assert.equal(hookNode?.parentSpanId, hookRoot.spanId);

    const queuedRoot = rootOf(queued.execution_id)!;
    assert.equal(queuedRoot.traceId, QUEUED_TRACE, "a queued trigger keeps its trace context");
    assert.equal(queuedRoot.parentSpanId, QUEUED_PARENT);

    const firstRoot = rootOf(first.execution_id)!;
    assert.equal(firstRoot.parentSpanId, "", "an invalid traceparent is ignored: a new trace starts");
    assert.notEqual(firstRoot.traceId, "ffffffffffffffffffffffffffffffff");
  });
});
