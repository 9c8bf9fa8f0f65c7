import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sign } from "@octokit/webhooks-methods";
import { waitFor } from "../helpers/wait.js";
import type { ExecutionResult } from "../helpers/api-types.js";
import { repoRoot } from "../helpers/paths.js";
import { runCli, type CliResult } from "../helpers/cli.js";

const ROOT = repoRoot;
const BIN = join(ROOT, "bin/forager.js");
const AGENT = join(ROOT, "agents/issue-triage.yaml");
const SECRET = "e2e-webhook-secret";

interface Serve {
  child: ChildProcess;
  info: { pid: number; url: string; token: string; webhook_url: string; agents: string[] };
  stderr: () => string;
  exited: Promise<number | null>;
}

const env = () => ({ PATH: process.env.PATH, NO_COLOR: "1", LOG_FORMAT: "json", GITHUB_WEBHOOK_SECRET: SECRET, WEBHOOK_PORT: "0" });

async function startServe(storage: string): Promise<Serve> {
  const child = spawn(process.execPath, [BIN, "serve", AGENT, "--storage", storage], { cwd: ROOT, env: env(), stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const file = join(storage, "serve.json");
  await waitFor("serve.json", () => {
    if (child.exitCode !== null) throw new Error(`serve exited early: ${stderr}`);
    return existsSync(file);
  }, { stepMs: 50 });
  const info = JSON.parse(await readFile(file, "utf8"));
  return { child, info, stderr: () => stderr, exited };
}

function forager(args: string[], storage: string): Promise<CliResult> {
  return runCli([...args, "--storage", storage], { cwd: ROOT, env: env(), envOnly: true, timeoutMs: 30_000 });
}

async function delivery(base: string, id: string, payload: unknown, secret = SECRET) {
  const body = JSON.stringify(payload);
  return fetch(`${base}/webhooks/github`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-github-event": "issues", "x-github-delivery": id, "x-hub-signature-256": await sign(secret, body) },
    body,
  });
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "forager-serve-e2e-"));
});
after(() => rm(dir, { recursive: true, force: true }));

describe("forager serve agents/issue-triage.yaml", () => {
  test("webhooks, control API, CLI commands, storage lock and a clean SIGTERM", async (t) => {
    const storage = join(dir, "main");
    const serve = await startServe(storage);
    t.after(() => {
      if (serve.child.exitCode === null) serve.child.kill("SIGKILL");
    });
    const { info } = serve;
    assert.equal((await stat(join(storage, "serve.json"))).mode & 0o777, 0o600);
    assert.deepEqual(info.agents, ["issue-triage"]);
    assert.ok(!serve.stderr().includes(info.token), "the token never reaches a log line");
    const auth = { authorization: `Bearer ${info.token}` };

    const issue = { action: "opened", issue: { number: 1, title: "Crash on start", body: "It crashes." } };
    const accepted = await delivery(info.webhook_url, "delivery-1", issue);
    assert.equal(accepted.status, 202);
    const body = (await accepted.json()) as { status: string; event_id: string; executions: string[] };
    assert.equal(body.status, "accepted");
    assert.equal(body.executions.length, 1);

    const result = await waitFor("the webhook's execution", async () => {
      const r = (await (await fetch(`${info.url}/executions/${body.executions[0]}`, { headers: auth })).json()) as ExecutionResult;
      return r.status === "completed" ? r : undefined;
    });
    assert.equal(result.entry_point, "opened");
    assert.equal(result.output.severity, "high");

    const again = await delivery(info.webhook_url, "delivery-1", issue);
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), { status: "duplicate", event_id: body.event_id });
    assert.equal((await delivery(info.webhook_url, "delivery-2", issue, "wrong-secret")).status, 401);

    const triggered = await forager(["trigger", "api", "--input", '{"title": "Login fails"}', "--wait", "--json"], storage);
    assert.equal(triggered.code, 0, triggered.stderr);
    const triggeredResult = JSON.parse(triggered.stdout);
    assert.equal(triggeredResult.status, "completed");
    assert.equal(triggeredResult.entry_point, "api");
    assert.equal((await forager(["trigger", "api", "--input", '{"body": "no title"}'], storage)).code, 2);

    const stats = JSON.parse((await forager(["stats", "--json"], storage)).stdout);
    assert.deepEqual(stats.webhooks.github, { accepted: 1, rejected: 1, duplicates: 1 });
    assert.equal(stats.streams["issue-triage/opened"].status_counts.completed, 1);
    assert.equal((await forager(["pause-timers"], storage)).code, 0);
    assert.equal(JSON.parse((await forager(["stats", "--json"], storage)).stdout).timers_paused, true);
    assert.equal((await forager(["resume-timers"], storage)).code, 0);

    const second = await forager(["serve", AGENT], storage);
    assert.equal(second.code, 2);
    assert.match(second.stderr, new RegExp(`in use by another forager serve \\(pid ${info.pid}\\)`));

    serve.child.kill("SIGTERM");
    assert.equal(await serve.exited, 0);
    assert.equal(existsSync(join(storage, "serve.json")), false);
    assert.equal(existsSync(join(storage, "serve.lock")), false);
  });

  test("SIGTERM while executions run loses none of them", async (t) => {
    const storage = join(dir, "drain");
    const serve = await startServe(storage);
    t.after(() => {
      if (serve.child.exitCode === null) serve.child.kill("SIGKILL");
    });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await delivery(serve.info.webhook_url, `drain-${i}`, { action: "opened", issue: { title: `Issue ${i}` } });
      assert.equal(res.status, 202);
      ids.push(...((await res.json()) as { executions: string[] }).executions);
    }
    serve.child.kill("SIGTERM");
    assert.equal(await serve.exited, 0);
    assert.equal(existsSync(join(storage, "serve.json")), false);

    const restarted = await startServe(storage);
    t.after(() => {
      if (restarted.child.exitCode === null) restarted.child.kill("SIGKILL");
    });
    for (const id of ids) {
      const res = await fetch(`${restarted.info.url}/executions/${id}`, { headers: { authorization: `Bearer ${restarted.info.token}` } });
      assert.equal(res.status, 200, `execution ${id} was lost`);
      const record = (await res.json()) as { status: string };
      assert.ok(["completed", "cancelled"].includes(record.status), `${id} ended ${record.status}`);
    }
    restarted.child.kill("SIGINT");
    assert.equal(await restarted.exited, 0);
  });
});
