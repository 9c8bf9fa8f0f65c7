import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ControlApi } from "../../src/server/control-api.js";
import { FakeRuntime, resultFor } from "../server/fake-runtime.js";
import { runCli, type CliResult } from "../helpers/cli.js";

const TOKEN = "cli-test-token-abcdef";
let runtime: FakeRuntime;
let api: ControlApi;
let url: string;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "forager-cli-client-"));
  runtime = new FakeRuntime();
  api = new ControlApi({ runtime, token: TOKEN });
  url = await api.listen("127.0.0.1", 0);
});
after(async () => {
  await api.close(100);
  await rm(dir, { recursive: true, force: true });
});

function forager(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  // Nothing of this process's environment (FORAGER_URL, FORAGER_TOKEN) reaches the command.
  return runCli(args, { cwd: dir, env: { PATH: process.env.PATH, NO_COLOR: "1", ...env }, envOnly: true, timeoutMs: 20_000 });
}

const remote = () => ["--url", url, "--token", TOKEN];

describe("forager trigger / stats / pause-timers against a server", () => {
  test("trigger: accepted exits 0 and prints the ids as JSON", async () => {
    const { code, stdout } = await forager(["trigger", "api", "--input", '{"q":1}', "--json", ...remote()]);
    assert.equal(code, 0);
    const body = JSON.parse(stdout);
    assert.match(body.execution_id, /^exec_/);
    assert.deepEqual(runtime.submitted.at(-1)?.input, { q: 1 });
  });

  test("trigger: skipped and duplicate exit 0, rejected and unknown exit 2", async () => {
    runtime.submitImpl = async () => ({ status: "skipped", reason: "busy" });
    assert.equal((await forager(["trigger", "api", ...remote()])).code, 0);
    runtime.submitImpl = async () => ({ status: "queued", execution_id: "exec_1", session_id: "s", duplicate: true });
    const dup = await forager(["trigger", "api", "--idempotency-key", "k", ...remote()]);
    assert.equal(dup.code, 0);
    assert.match(dup.stdout, /duplicate/);
    runtime.submitImpl = async () => ({ status: "rejected", reason: "queue full", retry_after_seconds: 4 });
    const rejected = await forager(["trigger", "api", ...remote()]);
    assert.equal(rejected.code, 2);
    assert.match(rejected.stderr, /429.*queue full.*retry after 4s/);
    const { TriggerError } = await import("../../src/runtime/types.js");
    runtime.submitImpl = async () => {
      throw new TriggerError("not_found", "no entry point nope");
    };
    assert.equal((await forager(["trigger", "nope", ...remote()])).code, 2);
  });

  test("trigger --wait exits with the execution's code", async () => {
    runtime.submitImpl = async () => ({ status: "queued", execution_id: "exec_w", session_id: "s" });
    runtime.waitImpl = async (id) => resultFor(id, "failed");
    const failed = await forager(["trigger", "api", "--wait", "--json", ...remote()]);
    assert.equal(failed.code, 1);
    assert.equal(JSON.parse(failed.stdout).status, "failed");
    runtime.waitImpl = async (id) => resultFor(id, "budget_exceeded");
    assert.equal((await forager(["trigger", "api", "--wait", ...remote()])).code, 3);
    runtime.waitImpl = async (id) => resultFor(id, "completed");
    assert.equal((await forager(["trigger", "api", "--wait", "--timeout", "5", ...remote()])).code, 0);
  });

  test("--input must be a JSON object; a wrong token is refused: exit 2", async () => {
    const before = runtime.submitted.length;
    assert.equal((await forager(["trigger", "api", "--input", "[1,2]", ...remote()])).code, 2);
    const wrong = await forager(["trigger", "api", "--url", url, "--token", "nope"]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /refused the token/);
    assert.equal(runtime.submitted.length, before);
  });

  test("stats: a readable table, or the JSON object", async () => {
    const human = await forager(["stats", ...remote()]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /demo\/api\s+api\s+1\s+2\s+40\s+1\s+0\s+8\/10/);
    assert.match(human.stdout, /demo\/tick/);
    const json = await forager(["stats", "--json"], { FORAGER_URL: url, FORAGER_TOKEN: TOKEN });
    assert.equal(json.code, 0);
    assert.equal(JSON.parse(json.stdout).max_concurrent_executions, 100);
  });

  test("pause-timers and resume-timers", async () => {
    assert.equal((await forager(["pause-timers", ...remote()])).code, 0);
    assert.equal(runtime.timersPaused, true);
    assert.equal((await forager(["resume-timers", ...remote()])).code, 0);
    assert.equal(runtime.timersPaused, false);
  });

  test("no server: one line, exit 2", async () => {
    const { code, stderr } = await forager(["stats", "--storage", join(dir, "none")]);
    assert.equal(code, 2);
    assert.equal(stderr.trim().split("\n").length, 1);
    assert.match(stderr, /no running forager serve found .*start one with `forager serve agent\.yaml`, point at its storage with --storage DIR .*FORAGER_URL/);
  });
});
