/**
 * A shared state file that does not parse (SPEC 4.4): `serve` refuses to
 * start and `run` of an entry point that uses the state refuses to run,
 * each with exit 2 and one line naming the file and what to do; an
 * isolated entry point never reads the state and runs.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
// What a process does when it meets corrupt state at start (its exit code, its
// one line) is the subject: each command runs as bin/forager.js in a process of its own.
import { spawnCli as runCli, STACK_LINE, tempDir } from "../helpers/cli.js";
import { FIXTURES, LOAD_AGENT, serveEnv } from "./helpers.js";

const dirs: Array<{ cleanup(): Promise<void> }> = [];
after(async () => {
  for (const dir of dirs) await dir.cleanup();
});

async function storageWithCorruptState(content: string): Promise<{ storage: string; statePath: string; dir: string }> {
  const dir = await tempDir("forager-rel-state-");
  dirs.push(dir);
  const storage = join(dir.path, "storage");
  mkdirSync(join(storage, "loadtest"), { recursive: true });
  const statePath = join(storage, "loadtest", "state.json");
  writeFileSync(statePath, content);
  return { storage, statePath, dir: dir.path };
}

function assertOneLineNaming(stderr: string, statePath: string): void {
  const lines = stderr.trim().split("\n").filter((line) => line.trim() !== "");
  assert.equal(lines.length, 1, stderr);
  assert.ok(lines[0]!.startsWith("error: "), stderr);
  assert.ok(lines[0]!.includes(statePath), `names the file: ${stderr}`);
  assert.match(lines[0]!, /fix the file or move it aside/);
  assert.doesNotMatch(stderr, STACK_LINE);
}

describe("a corrupt shared state file", () => {
  test("serve refuses to start: exit 2, one line naming the file and what to do, nothing left behind", async () => {
    const { storage, statePath } = await storageWithCorruptState('{"count": 3, "last":');
    const result = await runCli(["serve", LOAD_AGENT, "--storage", storage], {
      env: { ...serveEnv({ TICK_SECONDS: "3600" }), LOG_FORMAT: "text", LOG_LEVEL: "error" },
      timeoutMs: 30_000,
    });
    assert.equal(result.code, 2, result.stderr);
    assertOneLineNaming(result.stderr, statePath);
    assert.ok(!readdirSync(storage).includes("serve.json"), "no discovery file left");
  });

  test("state.json holding an array is refused the same way", async () => {
    const { storage, statePath } = await storageWithCorruptState("[1, 2]\n");
    const result = await runCli(["serve", LOAD_AGENT, "--storage", storage], {
      env: { ...serveEnv({ TICK_SECONDS: "3600" }), LOG_FORMAT: "text", LOG_LEVEL: "error" },
      timeoutMs: 30_000,
    });
    assert.equal(result.code, 2, result.stderr);
    assertOneLineNaming(result.stderr, statePath);
  });

  test("run of an entry point using shared state refuses (exit 2); an isolated entry point runs", async () => {
    const { storage, statePath, dir } = await storageWithCorruptState("{not json");
    const shared = await runCli(["run", LOAD_AGENT, "--entry", "api", "--storage", storage], {
      env: { HOOK_SECRET: "x", LOG_LEVEL: "error" },
      timeoutMs: 30_000,
    });
    assert.equal(shared.code, 2, shared.stderr);
    assertOneLineNaming(shared.stderr, statePath);
    assert.deepEqual(readdirSync(join(storage, "loadtest")), ["state.json"], "nothing was run or recorded");

    const isolatedFile = join(dir, "isolated.yaml");
    writeFileSync(
      isolatedFile,
      [
        "name: loadtest",
        "graph:",
        "  output_keys: [done]",
        "  nodes:",
        "    - id: work",
        "      type: function",
        `      module: ${join(FIXTURES, "lib", "work.mjs")}`,
        "      export: work",
        "      output_keys: [done]",
        "entry_points:",
        "  - id: api",
        "    trigger_type: api",
        "    isolation_level: isolated",
        "",
      ].join("\n"),
    );
    const isolated = await runCli(["run", isolatedFile, "--storage", storage], { env: { LOG_LEVEL: "error" }, timeoutMs: 30_000 });
    assert.equal(isolated.code, 0, isolated.stderr);
  });
});
