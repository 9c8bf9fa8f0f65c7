/**
 * `forager serve` as an operator meets it: SIGHUP reloads the agent file
 * (SPEC 6) and the info log says what happened (SPEC 2). A real serve
 * process, its JSON log lines on stderr, its control API and webhooks.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/cli.js";
import { deliver, FIXTURES, logLines, recordsOnDisk, startServe, stopHard, type ServeProcess } from "../reliability/helpers.js";
import { waitFor } from "../helpers/wait.js";
import type { LogLine } from "../helpers/api-types.js";
import type { ReloadSummary } from "../../src/runtime/reload-plan.js";

const ROUTE_GITHUB = `
    - source_id: github
      path: /webhooks/github
      secret: \${HOOK_SECRET}
      verify: github`;
const ROUTE_INTERNAL = `
    - source_id: internal
      path: /hooks/internal
      allow_unsigned: true`;

function agentYaml(options: { tickSeconds: number; internal: boolean }): string {
  return `name: daemon
graph:
  output_keys: [done]
  nodes:
    - id: work
      type: function
      module: lib/work.mjs
      export: work
      output_keys: [done]
entry_points:
  - id: api
    trigger_type: api
  - id: tick
    trigger_type: timer
    trigger_config:
      interval_seconds: ${options.tickSeconds}
      idle_timeout_seconds: 0
  - id: github
    trigger_type: event
    trigger_config:
      event_types: [webhook_received]
      filter_stream: github
${
  options.internal
    ? `  - id: internal
    trigger_type: event
    trigger_config:
      event_types: [webhook_received]
      filter_stream: internal
`
    : ""
}runtime:
  webhook_host: 127.0.0.1
  webhook_port: 0
  control_port: 0
  shutdown_grace_seconds: 20
  webhook_routes:${ROUTE_GITHUB}${options.internal ? ROUTE_INTERNAL : ""}
`;
}

async function trigger(serve: ServeProcess, input: Record<string, unknown>): Promise<string> {
  const res = await serve.control("/entry-points/api/trigger", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input }) });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { execution_id: string }).execution_id;
}

async function status(serve: ServeProcess, id: string): Promise<string> {
  return ((await (await serve.control(`/executions/${id}`)).json()) as { status: string }).status;
}

const lines = (serve: ServeProcess) => logLines(serve.stderr());
const linesMatching = (serve: ServeProcess, re: RegExp) => lines(serve).filter((l) => typeof l.msg === "string" && re.test(l.msg));
const timerFires = (serve: ServeProcess) => linesMatching(serve, /^timer daemon\/tick fired/).length;

function postInternal(serve: ServeProcess): Promise<Response> {
  return fetch(`${serve.info.webhook_url}/hooks/internal`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ hello: 1 }) });
}

describe("forager serve: SIGHUP reload and the operator's log", () => {
  test("a changed timer and an added route take effect, a running execution completes; a broken file keeps the old definition", async (t) => {
    const dir = await tempDir("forager-reload-");
    t.after(() => dir.cleanup());
    cpSync(join(FIXTURES, "lib"), join(dir.path, "lib"), { recursive: true });
    const file = join(dir.path, "agent.yaml");
    writeFileSync(file, agentYaml({ tickSeconds: 3600, internal: false }));
    const serve = await startServe(join(dir.path, "storage"), { files: [file] });
    t.after(() => stopHard(serve));

    // Start-up: one line with agents, entry points, timers, routes and listeners.
    const startup = await waitFor("the start-up line", () => linesMatching(serve, /^serving daemon/)[0]);
    assert.deepEqual(startup.agents, ["daemon"]);
    assert.deepEqual(startup.entry_points, ["daemon/api", "daemon/tick", "daemon/github"]);
    assert.deepEqual(startup.timers, ["daemon/tick"]);
    assert.equal(startup.control_url, serve.info.url);
    assert.equal(startup.webhook_url, serve.info.webhook_url);
    assert.deepEqual(startup.webhook_routes, [{ source_id: "github", path: "/webhooks/github" }]);

    // Before the reload: no route at /hooks/internal, and the refusal is logged.
    assert.equal((await postInternal(serve)).status, 404);
    const notFound = await waitFor("the 404 line", () => linesMatching(serve, /^webhook \/hooks\/internal refused \(404\)/)[0]);
    assert.equal(notFound.status_code, 404);
    const wrongSignature = await deliver(serve.info.webhook_url!, "bad-sig-1", { action: "opened" }, { secret: "not-the-secret" });
    assert.equal(wrongSignature.status, 401);
    const refused = await waitFor("the 401 line", () => linesMatching(serve, /^webhook github refused \(401\)/)[0]);
    assert.equal(refused.level, "warn");
    assert.equal(refused.source_id, "github");

    // An execution that runs across the reload.
    const longRun = await trigger(serve, { sleep_ms: 4000 });
    await waitFor("the long execution to run", async () => ((await status(serve, longRun)) === "running" ? true : undefined));

    writeFileSync(file, agentYaml({ tickSeconds: 1, internal: true }));
    serve.kill("SIGHUP");
    const reloaded = (await waitFor("the reload line", () => linesMatching(serve, /^reloaded: /)[0])) as LogLine & ReloadSummary & { webhook_routes: { added: string[] } };
    assert.deepEqual(reloaded.entry_points.changed, ["daemon/tick"]);
    assert.deepEqual(reloaded.entry_points.added, ["daemon/internal"]);
    assert.deepEqual(reloaded.webhook_routes.added, ["/hooks/internal"]);
    assert.equal(linesMatching(serve, /^restart needed/).length, 0);

    // The new interval (1 s, was 1 h) and the new route work.
    await waitFor("a timer fire after the reload", () => (timerFires(serve) >= 1 ? true : undefined), { timeoutMs: 20_000 });
    const fired = linesMatching(serve, /^timer daemon\/tick fired/)[0]!;
    assert.match(fired.execution_id ?? "", /^exec_/);
    const accepted = await postInternal(serve);
    assert.equal(accepted.status, 202);
    const hook = (await accepted.json()) as { executions: string[] };
    assert.equal(hook.executions.length, 1);
    await waitFor("the internal hook's execution", async () => ((await status(serve, hook.executions[0]!)) === "completed" ? true : undefined));
    const acceptedLine = await waitFor("the accepted line", () => linesMatching(serve, /^webhook internal accepted \(202\)/)[0]);
    assert.deepEqual(acceptedLine.execution_ids, hook.executions);

    // The execution that ran across the reload was not lost, and its end is logged once.
    await waitFor("the long execution", async () => ((await status(serve, longRun)) === "completed" ? true : undefined), { timeoutMs: 20_000 });
    // The record can be read before the end line reaches serve's stderr: wait for the line.
    const endsOf = () => lines(serve).filter((l) => l.execution_id === longRun && /^execution daemon\/api completed/.test(l.msg));
    await waitFor("the long execution's end line", () => endsOf().length > 0);
    const ends = endsOf();
    assert.equal(ends.length, 1);
    assert.equal(ends[0]!.status, "completed");
    assert.equal(ends[0]!.entry_point, "api");
    assert.ok(Number(ends[0]!.duration_ms) >= 3000, `duration ${ends[0]!.duration_ms}`);

    // A broken file: the error is logged and the old definition keeps serving.
    writeFileSync(file, `${agentYaml({ tickSeconds: 1, internal: true })}broken: [\n`);
    serve.kill("SIGHUP");
    const failed = await waitFor("the failed reload line", () => linesMatching(serve, /^reload failed, still serving the previous definitions/)[0]);
    assert.equal(failed.level, "error");
    assert.match(failed.msg, /agent\.yaml:\d+:\d+/);
    const firesAtFailure = timerFires(serve);
    await waitFor("timer fires after the failed reload", () => (timerFires(serve) >= firesAtFailure + 2 ? true : undefined), { timeoutMs: 20_000 });
    assert.equal((await postInternal(serve)).status, 202);
    const after = await trigger(serve, {});
    await waitFor("a trigger after the failed reload", async () => ((await status(serve, after)) === "completed" ? true : undefined));

    // A process-wide setting changed: reported, not applied.
    writeFileSync(file, agentYaml({ tickSeconds: 1, internal: true }).replace("shutdown_grace_seconds: 20", "shutdown_grace_seconds: 5"));
    serve.kill("SIGHUP");
    const restart = await waitFor("the restart-needed line", () => linesMatching(serve, /^restart needed/)[0]);
    assert.deepEqual(restart.settings, ["runtime.shutdown_grace_seconds"]);
    assert.ok(existsSync(join(serve.storage, "serve.json")), "SIGHUP never stops the server");

    // Shutdown with counts; serve.json removed.
    const slow = await trigger(serve, { sleep_ms: 1500 });
    await waitFor("the slow execution to run", async () => ((await status(serve, slow)) === "running" ? true : undefined));
    serve.kill("SIGTERM");
    const exit = await serve.exited;
    assert.equal(exit.code, 0, serve.stderr());
    const draining = linesMatching(serve, /^shutting down on SIGTERM/)[0]!;
    assert.ok(Number(draining.running) >= 1);
    assert.equal(typeof draining.queued, "number");
    const done = linesMatching(serve, /^shutdown complete/)[0]!;
    assert.ok(Number(done.finished) >= 1, JSON.stringify(done));
    assert.equal(typeof done.cancelled, "number");
    assert.equal(recordsOnDisk(serve.storage).get(slow)?.status, "completed", "the drain let it finish");
    assert.ok(!existsSync(join(serve.storage, "serve.json")));
    // JSON mode: every stderr line is JSON.
    assert.deepEqual(lines(serve).filter((l) => "raw" in l), []);
  });
});
