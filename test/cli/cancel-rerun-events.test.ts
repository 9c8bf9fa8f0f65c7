// `forager cancel`, `forager rerun` and `forager events` against a real `forager serve` on loopback.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { STACK_LINE, binPath, processesMatching, repoRoot, runCli, tempDir } from "../helpers/cli.js";
import { waitFor } from "../helpers/wait.js";
import type { JsonLine } from "../helpers/api-types.js";

const AGENT = join(repoRoot, "test/fixtures/serve/napper.yaml");
const children = new Set<ChildProcess>();
let dir: { path: string; cleanup: () => Promise<void> };
let storage: string;

before(async () => {
  dir = await tempDir("forager-rerun-");
  storage = join(dir.path, "storage");
});
/** The crash test's tool sleeps this long; the orphaned `sleep` is found by it and killed. */
const CRASH_SLEEP = 61.37;

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const line of processesMatching(`sleep ${CRASH_SLEEP}`)) {
    const pid = Number(line.trim().split(/\s+/)[0]);
    if (line.trim().split(/\s+/)[1] === "sleep" && pid > 0) process.kill(pid, "SIGKILL");
  }
  await dir.cleanup();
});

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function spawnCli(args: string[]): Proc {
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd: dir.path,
    env: { ...process.env, NO_COLOR: "1", LOG_LEVEL: "info", FORAGER_URL: undefined, FORAGER_TOKEN: undefined },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

type Serve = Proc & { url: string; token: string };

/** Starts serve and waits for its own serve.json (a crashed one may have left a stale file). */
async function startServe(): Promise<Serve> {
  const serveJson = join(storage, "serve.json");
  const serve = spawnCli(["serve", AGENT, "--storage", storage]);
  let info: { pid?: number; url: string; token: string } | undefined;
  await waitFor("serve to write its serve.json", async () => {
    if (serve.child.exitCode !== null) throw new Error(`serve exited: ${serve.stderr()}`);
    if (!existsSync(serveJson)) return false;
    try {
      info = JSON.parse(await readFile(serveJson, "utf8"));
    } catch {
      return false; // being written
    }
    return info?.pid === serve.child.pid;
  }, { timeoutMs: 20_000, stepMs: 50 });
  return { ...serve, url: info!.url, token: info!.token };
}

/** Waits until `count` more event subscribers than `base` are connected (SSE clients subscribe on connect). */
async function subscribers(serve: Serve): Promise<number> {
  const stats = (await (await fetch(`${serve.url}/stats`, { headers: { authorization: `Bearer ${serve.token}` } })).json()) as {
    event_bus: { subscriptions: number };
  };
  return stats.event_bus.subscriptions;
}

function forager(args: string[]) {
  return runCli([...args, "--storage", storage], { cwd: dir.path, env: { FORAGER_URL: undefined, FORAGER_TOKEN: undefined } });
}

async function trigger(input: Record<string, unknown>): Promise<{ execution_id: string; status: string }> {
  const r = await forager(["trigger", "api", "--input", JSON.stringify(input), "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function statusOf(id: string): Promise<string> {
  const r = await forager(["sessions", "show", id, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).status;
}

function jsonLines(text: string): JsonLine[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as JsonLine);
}

describe("cancel, rerun and events against forager serve", () => {
  test("no server: each command says so in one line and exits 2", async () => {
    for (const args of [["cancel", "exec_X"], ["rerun", "exec_X"], ["events"]]) {
      const r = await forager(args);
      assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^error: no running forager serve found/);
      assert.equal(r.stdout, "");
    }
  });

  test("cancel, rerun (of finished, cancelled, queued-then-shut-down and crashed executions) and events", async () => {
    let serve = await startServe();
    const base = await subscribers(serve);
    const events = spawnCli(["events", "--json", "--reconnect-for", "60", "--storage", storage]);
    const readable = spawnCli(["events", "--types", "execution_cancelled,EXECUTION_COMPLETED", "--storage", storage]);
    await waitFor("two more event subscribers", async () => (await subscribers(serve)) === base + 2, { timeoutMs: 20_000, stepMs: 100 });
    const blocker = await trigger({ seconds: 60 });
    assert.equal(blocker.status, "running");
    const queued = await trigger({ seconds: 0.2, tag: "b" });
    assert.equal(queued.status, "queued");

    // cancel: the running one stops, the queued one then runs.
    const cancelled = await forager(["cancel", blocker.execution_id, "--json"]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    const cancelledResult = JSON.parse(cancelled.stdout);
    assert.equal(cancelledResult.status, "cancelled");
    assert.equal(cancelledResult.error.reason, "user");
    await waitFor("the queued execution to complete", async () => (await statusOf(queued.execution_id)) === "completed", { timeoutMs: 20_000, stepMs: 200 });
    const again = await forager(["cancel", queued.execution_id]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /had already ended \(completed\); nothing to cancel/);
    const unknown = await forager(["cancel", "exec_01J00000000000000000000000"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^error: no execution exec_01J0+ on the server/);

    // rerun --wait of a finished execution: same entry point and input, rerun_of, exit with its code.
    const rerun = await forager(["rerun", queued.execution_id, "--wait", "--json"]);
    assert.equal(rerun.code, 0, rerun.stderr);
    const rerunResult = JSON.parse(rerun.stdout);
    assert.equal(rerunResult.status, "completed");
    assert.equal(rerunResult.rerun_of, queued.execution_id);
    assert.notEqual(rerunResult.execution_id, queued.execution_id);
    const shown = await forager(["sessions", "show", rerunResult.execution_id]);
    assert.match(shown.stdout, /^input {6}\{"seconds":0\.2,"tag":"b"\}$/m);
    assert.match(shown.stdout, new RegExp(`^rerun of   ${queued.execution_id}$`, "m"));
    assert.equal(JSON.parse((await forager(["sessions", "show", rerunResult.execution_id, "--json"])).stdout).rerun_of, queued.execution_id);

    // rerun without --wait of the cancelled one: 202-style answer with the new ids.
    const rerunCancelled = await forager(["rerun", blocker.execution_id, "--json"]);
    assert.equal(rerunCancelled.code, 0, rerunCancelled.stderr);
    const accepted = JSON.parse(rerunCancelled.stdout);
    assert.deepEqual(Object.keys(accepted).sort(), ["execution_id", "rerun_of", "session_id", "status"]);
    assert.equal(accepted.rerun_of, blocker.execution_id);
    assert.equal(accepted.status, "running");
    const missing = await forager(["rerun", "exec_01J00000000000000000000000"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: cannot rerun exec_01J0+: no execution/);
    assert.doesNotMatch(missing.stderr, STACK_LINE);

    // The --types stream printed one readable line per matching event, and nothing else.
    await waitFor("three readable event lines", () => readable.stdout().split("\n").filter(Boolean).length >= 3, { timeoutMs: 20_000 });
    const lines = readable.stdout().trimEnd().split("\n");
    for (const line of lines) assert.match(line, /^\d\d:\d\d:\d\d\.\d{3} {2}execution_(cancelled|completed) +napper\/api {2}exec_/);
    assert.ok(lines.some((l) => l.includes(blocker.execution_id) && l.includes("execution_cancelled")));
    assert.ok(lines.some((l) => l.includes(queued.execution_id) && l.includes("execution_completed")));

    // Shutdown while one runs and one waits: both recorded cancelled, the queued one with its input.
    const waiting = await trigger({ seconds: 0.2, tag: "d" });
    assert.equal(waiting.status, "queued");
    serve.child.kill("SIGTERM");
    assert.equal(await serve.exited, 0, serve.stderr());
    assert.equal(await statusOf(waiting.execution_id), "cancelled");
    const shownCancelled = await forager(["sessions", "show", waiting.execution_id]);
    assert.match(shownCancelled.stdout, /^input {6}\{"seconds":0\.2,"tag":"d"\}$/m);
    assert.match(shownCancelled.stdout, new RegExp(`^re-run it .*: forager rerun ${waiting.execution_id}$`, "m"));

    // The JSON events stream noticed and waits for the server to come back; a new serve (new port, new token) is found again.
    await waitFor("the reconnecting message", () => /events: .*reconnecting for up to 60s/.test(events.stderr()), { timeoutMs: 20_000 });
    serve = await startServe();
    await waitFor("the reconnected message", () => events.stderr().includes(`events: reconnected to ${serve.url}`), { timeoutMs: 30_000, stepMs: 100 });
    const rerunShutdown = await forager(["rerun", waiting.execution_id, "--wait", "--json"]);
    assert.equal(rerunShutdown.code, 0, rerunShutdown.stderr);
    const afterShutdown = JSON.parse(rerunShutdown.stdout);
    assert.equal(afterShutdown.rerun_of, waiting.execution_id);
    assert.equal(afterShutdown.status, "completed");
    const shownRerun = await forager(["sessions", "show", afterShutdown.execution_id]);
    assert.match(shownRerun.stdout, /^input {6}\{"seconds":0\.2,"tag":"d"\}$/m);

    // A crash leaves a running execution interrupted; it can be re-run like any other.
    const crashed = await trigger({ seconds: CRASH_SLEEP, tag: "e" });
    serve.child.kill("SIGKILL");
    await serve.exited;
    serve = await startServe();
    // Events published while the stream is away are not replayed: wait until it follows the new server.
    await waitFor("the reconnected message", () => events.stderr().includes(`events: reconnected to ${serve.url}`), { timeoutMs: 30_000, stepMs: 100 });
    assert.equal(await statusOf(crashed.execution_id), "interrupted");
    const rerunCrashed = await forager(["rerun", crashed.execution_id, "--json"]);
    assert.equal(rerunCrashed.code, 0, rerunCrashed.stderr);
    const fromCrash = JSON.parse(rerunCrashed.stdout);
    assert.equal(fromCrash.rerun_of, crashed.execution_id);
    const cancelRerun = await forager(["cancel", fromCrash.execution_id]);
    assert.equal(cancelRerun.code, 0, cancelRerun.stderr);
    assert.match(cancelRerun.stdout, /cancelled napper\/api/);

    // Every event arrived on the JSON stream as one object a line, from both servers.
    await waitFor("the crashed execution's cancelled event", () => jsonLines(events.stdout()).some((e) => e.execution_id === fromCrash.execution_id && e.type === "execution_cancelled"), { timeoutMs: 20_000 });
    const seen = jsonLines(events.stdout());
    for (const e of seen) assert.match(e.id ?? "", /.+/);
    assert.ok(seen.some((e) => e.type === "execution_queued" && e.execution_id === queued.execution_id));
    assert.ok(seen.some((e) => e.type === "execution_completed" && e.execution_id === afterShutdown.execution_id));

    // Interrupted by the user: exit 130, nothing more.
    events.child.kill("SIGINT");
    assert.equal(await events.exited, 130);
    readable.child.kill("SIGTERM");
    assert.equal(await readable.exited, 143);

    // A server that goes away for good: a clear line and exit 2 once --reconnect-for has passed.
    const before = await subscribers(serve);
    const short = spawnCli(["events", "--reconnect-for", "1", "--storage", storage]);
    await waitFor("one more event subscriber", async () => (await subscribers(serve)) === before + 1, { timeoutMs: 20_000, stepMs: 100 });
    serve.child.kill("SIGTERM");
    assert.equal(await serve.exited, 0);
    assert.equal(await short.exited, 2);
    const errLines = short.stderr().trimEnd().split("\n");
    assert.match(errLines.at(-1)!, /^error: the server at http:\/\/127\.0\.0\.1:\d+ went away \(.+\) and did not come back within 1s/);
    assert.doesNotMatch(short.stderr(), STACK_LINE);
  });

  test("events: an unknown --types value is a usage error before connecting", async () => {
    const r = await forager(["events", "--types", "execution_failed,nope"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: --types: unknown event type nope/);
  });
});
