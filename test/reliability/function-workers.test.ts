/**
 * Function nodes run in worker threads (SPEC 3.2): under `serve`, a
 * function stuck in `for (;;) {}` must not stall the daemon. While it
 * spins, /health answers; its timeout ends it (the worker is terminated
 * after the kill grace) and SIGTERM still drains and exits.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { tempDir } from "../helpers/cli.js";
import { FIXTURES, recordsOnDisk, startServe, stopHard, type ServeProcess } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";
import type { ExecutionResult } from "../helpers/api-types.js";

const AGENT = join(FIXTURES, "blocking.yaml");

async function trigger(serve: ServeProcess): Promise<string> {
  const res = await serve.control("/entry-points/api/trigger", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { execution_id: string }).execution_id;
}

async function status(serve: ServeProcess, id: string): Promise<ExecutionResult> {
  const res = await serve.control(`/executions/${id}`);
  return (await res.json()) as ExecutionResult;
}

/** GET /health with a short deadline; the time it took, or throws when it got no answer. */
async function health(serve: ServeProcess): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${serve.info.url}/health`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  return performance.now() - started;
}

describe("a synchronous loop in a function node under serve", () => {
  let serve: ServeProcess | undefined;
  let dir: { path: string; cleanup: () => Promise<void> } | undefined;
  after(async () => {
    await stopHard(serve);
    await dir?.cleanup();
  });

  test("/health answers during the loop, the timeout ends it, SIGTERM drains and exits 0", async (t) => {
    dir = await tempDir("forager-rel-blocking-");
    serve = await startServe(dir.path, { files: [AGENT] });
    const first = await trigger(serve);
    await waitFor("the execution to run", async () => ((await status(serve!, first)).status === "running" ? true : undefined), { timeoutMs: 10_000 });

    // The worker spins from here until the timeout (2 s): the main thread must keep answering.
    const times: number[] = [];
    for (let i = 0; i < 5; i++) times.push(await health(serve));
    assert.ok(
      times.every((ms) => ms < 2000),
      `every /health answered within 2 s while the function spun (took ${times.map((t) => t.toFixed(0)).join(", ")} ms)`,
    );

    const ended = await waitFor("the execution to end", async () => {
      const record = await status(serve!, first);
      return record.status === "running" ? undefined : record;
    }, { timeoutMs: 20_000 });
    assert.equal(ended.status, "timed_out", JSON.stringify(ended));
    assert.equal(ended.error?.node_id, "loop");

    // A second one spins when SIGTERM comes: it is cancelled (shutdown) and the process exits cleanly.
    const second = await trigger(serve);
    await waitFor("the second execution to run", async () => ((await status(serve!, second)).status === "running" ? true : undefined), { timeoutMs: 10_000 });
    const signalled = performance.now();
    serve.kill("SIGTERM");
    const exit = await Promise.race([serve.exited, new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 20_000))]);
    assert.notEqual(exit, "hung", `serve did not exit after SIGTERM: ${serve.stderr()}`);
    assert.deepEqual(exit, { code: 0, signal: null }, serve.stderr());
    // Grace 1 s, then cancel; the worker is terminated after its 1 s kill grace.
    const exitMs = performance.now() - signalled;
    t.diagnostic(`/health during the loop: ${times.map((ms) => ms.toFixed(0)).join(", ")} ms; exit ${exitMs.toFixed(0)} ms after SIGTERM`);
    assert.ok(exitMs < 10_000, "exited within the grace plus the kill grace (and start-up slack)");
    assert.equal(existsSync(join(dir.path, "serve.json")), false, "serve.json removed");
    const record = recordsOnDisk(dir.path).get(second);
    assert.equal(record?.status, "cancelled");
    assert.equal(record?.error?.reason, "shutdown");
  });
});
