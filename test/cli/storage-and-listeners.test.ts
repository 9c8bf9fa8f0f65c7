// Bad storage folders, listeners that cannot bind and an ambiguous trigger:
// one clear line and exit 2, before anything is created (SPEC 1).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { repoRoot, runCli, tempDir, STACK_LINE } from "../helpers/cli.js";
import { ControlApi } from "../../src/server/control-api.js";
import { FakeRuntime } from "../server/fake-runtime.js";

const COUNTER = join(repoRoot, "test/fixtures/run/counter.yaml");
let dir: { path: string; cleanup: () => Promise<void> };
let blocker: Server;
let busyPort: number;

before(async () => {
  dir = await tempDir("forager-storage-check-");
  await writeFile(join(dir.path, "a-file"), "x");
  await symlink(join(dir.path, "nowhere"), join(dir.path, "dangling"));
  blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  busyPort = (blocker.address() as AddressInfo).port;
});
after(async () => {
  await new Promise((resolve) => blocker.close(resolve));
  await dir.cleanup();
});

function oneLine(stderr: string): void {
  assert.equal(stderr.trimEnd().split("\n").length, 1, stderr);
  assert.doesNotMatch(stderr, STACK_LINE);
}

describe("bad --storage", () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ["a file", () => join(dir.path, "a-file"), /^error: storage .*a-file is a file, not a folder$/],
    ["a dangling symlink", () => join(dir.path, "dangling"), /^error: storage .*dangling: .*dangling is a symlink to something that does not exist$/],
    ["a folder under a file", () => join(dir.path, "a-file", "sub"), /^error: storage .*sub: .*a-file\/sub lies under a file, not a folder$/],
    ["/proc/nope", () => "/proc/nope", /^error: storage \/proc\/nope cannot be created \(\w+ at \/proc\/nope\)$/],
  ];
  for (const [name, path, pattern] of cases) {
    test(`${name}: one sentence, exit 2, quickly`, async () => {
      const r = await runCli(["run", COUNTER, "--storage", path()], { timeoutMs: 15000 });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr.trimEnd(), pattern);
      oneLine(r.stderr);
    });
  }

  test("run from another folder says where the default ./storage went", async () => {
    const elsewhere = join(dir.path, "elsewhere");
    await mkdir(elsewhere);
    const r = await runCli(["run", COUNTER], { cwd: elsewhere, env: { LOG_LEVEL: "info", FORAGER_STORAGE: undefined } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, `sessions go to ${join(elsewhere, "storage")} (./storage of the current folder; choose with --storage or FORAGER_STORAGE)\n`);
  });
});

describe("serve: a port in use is a usage error naming the setting", () => {
  test("control port in use: exit 2, names runtime.control_port and FORAGER_CONTROL_PORT", async () => {
    const r = await runCli(["serve", COUNTER, "--storage", join(dir.path, "serve1")], {
      env: { FORAGER_CONTROL_PORT: String(busyPort), FORAGER_CONTROL_HOST: "127.0.0.1" },
      timeoutMs: 20000,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^error: the control API cannot listen on 127\\.0\\.0\\.1:${busyPort}: the port is already in use; change runtime\\.control_port \\(or FORAGER_CONTROL_PORT\\)`, "m"));
    assert.doesNotMatch(r.stderr, /EADDRINUSE/);
    assert.doesNotMatch(r.stderr, STACK_LINE);
  });
});

describe("trigger with several agents loaded", () => {
  test("tells a CLI user to pass --agent and lists the agents", async () => {
    const runtime = new FakeRuntime();
    runtime.agentNames = () => ["triage", "reporter"];
    const api = new ControlApi({ runtime, token: "test-token-123456" });
    const url = await api.listen("127.0.0.1", 0);
    try {
      const r = await runCli(["trigger", "default", "--url", url, "--token", "test-token-123456"]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, "error: the server runs several agents (triage, reporter); pass --agent NAME, e.g. forager trigger default --agent triage\n");
      assert.equal(r.stdout, "");
    } finally {
      await api.close(100);
    }
  });
});
