// What a person at a terminal sees (progress redrawn in place, the
// "press Ctrl-C again" hint) and the listener bind failures not covered by
// storage-and-listeners.test.ts: the webhook port, an address that is not
// on this machine, and a port that needs privileges.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer, type AddressInfo, type Server } from "node:net";
import { join } from "node:path";
import { repoRoot, runCli, tempDir, STACK_LINE } from "../helpers/cli.js";
import { listenerError } from "../../src/server/listen-error.js";
import { UsageError } from "../../src/errors.js";
import { waitFor } from "../helpers/wait.js";

const BIN = join(repoRoot, "bin/forager.js");
const hasScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;

let dir: { path: string; cleanup: () => Promise<void> };
let blocker: Server;
let busyPort: number;

before(async () => {
  dir = await tempDir("forager-terminal-");
  blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  busyPort = (blocker.address() as AddressInfo).port;
});
after(async () => {
  await new Promise((resolve) => blocker.close(resolve));
  await dir.cleanup();
});

describe("on a terminal", () => {
  test("progress is one line per node, redrawn in place", { skip: !hasScript && !process.env.CI && "`script` (util-linux) is not installed" }, () => {
    // script(1) gives the command a pseudo-terminal, as a person's shell would.
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} run ${JSON.stringify(join(repoRoot, "agents/disk-report.yaml"))} --storage ${JSON.stringify(join(dir.path, "tty"))}`;
    const r = spawnSync("script", ["-qefc", command, "/dev/null"], { encoding: "utf8", input: "", timeout: 60_000, env: { ...process.env, NO_COLOR: "1", LOG_LEVEL: "info" } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const out = r.stdout;
    for (const node of ["usage", "files", "summarize"]) {
      // The "started" line is replaced by the "done" line: carriage return, erase line.
      assert.match(out, new RegExp(`▸ ${node}\\r\\u001b\\[K✔ ${node} `), `node ${node} redrawn in place:\n${JSON.stringify(out)}`);
    }
    // What stays on screen: one line per node, then the summary.
    const screen = out.split("\r\n").map((line) => line.replace(/^.*\r\u001b\[K/, ""));
    assert.deepEqual(
      screen.filter((line) => /^[▸✔✘] (usage|files|summarize)\b/.test(line)).map((line) => line.split(" ")[1]),
      ["usage", "files", "summarize"],
    );
  });

  test("the first Ctrl-C says how to force, and the run ends 130", async () => {
    const child = spawn(process.execPath, [BIN, "run", join(repoRoot, "test/fixtures/run/sleeper.yaml"), "--input", '{"seconds": 30}', "--storage", join(dir.path, "sigint")], {
      env: { ...process.env, NO_COLOR: "1", LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    // Once the shell tool's process exists, the run is in its long node.
    const hasSleep = () => spawnSync("pgrep", ["-P", String(child.pid), "-f", "sleep 30"]).status === 0;
    await waitFor("the shell tool's sleep to start", () => hasSleep() || child.exitCode !== null, { stepMs: 50 });
    child.kill("SIGINT");
    const code = await exited;
    assert.equal(code, 130, stderr);
    assert.match(stderr, /SIGINT received: stopping \(press Ctrl-C again to force\)/);
  });
});

describe("listeners that cannot bind", () => {
  test("webhook port in use: exit 2, names runtime.webhook_port and FORAGER_WEBHOOK_PORT", async () => {
    const r = await runCli(["serve", join(repoRoot, "agents/issue-triage.yaml"), "--storage", join(dir.path, "hook-busy")], {
      env: { GITHUB_WEBHOOK_SECRET: "s3cret-for-test", FORAGER_WEBHOOK_HOST: "127.0.0.1", FORAGER_WEBHOOK_PORT: String(busyPort) },
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^error: the webhook listener cannot listen on 127\\.0\\.0\\.1:${busyPort}: the port is already in use; change runtime\\.webhook_port \\(or FORAGER_WEBHOOK_PORT\\)`, "m"));
    assert.doesNotMatch(r.stderr, STACK_LINE);
  });

  test("an address that is not on this machine: exit 2, names runtime.control_host", async () => {
    // 192.0.2.1 is TEST-NET-1: never assigned, so the bind fails; nothing is sent anywhere.
    const r = await runCli(["serve", join(repoRoot, "test/fixtures/run/counter.yaml"), "--storage", join(dir.path, "no-addr")], {
      env: { FORAGER_CONTROL_HOST: "192.0.2.1", FORAGER_CONTROL_PORT: "0" },
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: the control API cannot listen on 192\.0\.2\.1:0: no such address on this machine; change runtime\.control_host/m);
    assert.doesNotMatch(r.stderr, STACK_LINE);
  });

  test("a port that needs privileges is a usage error naming the setting (EACCES; root here cannot provoke it)", () => {
    const denied = Object.assign(new Error("listen EACCES: permission denied 0.0.0.0:80"), { code: "EACCES" });
    const err = listenerError(denied, "webhook", "0.0.0.0", 80);
    assert.ok(err instanceof UsageError);
    assert.equal(err.message, "the webhook listener may not listen on 0.0.0.0:80 (permission denied; ports below 1024 need privileges); change runtime.webhook_port (or FORAGER_WEBHOOK_PORT)");
    const other = new Error("boom");
    assert.equal(listenerError(other, "control", "127.0.0.1", 1), other);
  });
});
