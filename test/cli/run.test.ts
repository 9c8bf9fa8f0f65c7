// `forager run` as CI and a developer use it: stdout JSON, stderr, exit codes.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { STACK_LINE, processesMatching, repoRoot, runCli, tempDir } from "../helpers/cli.js";
import { waitFor } from "../helpers/wait.js";
import type { ExecutionResult } from "../helpers/api-types.js";

const fixtures = join(repoRoot, "test/fixtures/run");
let storage: { path: string; cleanup: () => Promise<void> };

before(async () => {
  storage = await tempDir("forager-run-");
});
after(async () => {
  await storage.cleanup();
});

function run(file: string, extra: string[] = [], options: Parameters<typeof runCli>[1] = {}) {
  return runCli(["run", join(fixtures, file), "--json", "--storage", storage.path, ...extra], options);
}

function parse(stdout: string) {
  return JSON.parse(stdout) as ExecutionResult;
}

describe("forager run", () => {
  test("success: the result JSON of SPEC 7 on stdout, exit 0", async () => {
    const r = await run("branching.yaml", ["--input", '{"n": 7}']);
    assert.equal(r.code, 0, r.stderr);
    const result = parse(r.stdout);
    assert.equal(result.schema_version, 1);
    assert.equal(result.status, "completed");
    assert.equal(result.success, true);
    // A shell tool's result is {exit_code, stdout, stderr} (SPEC 3.5).
    assert.deepEqual(result.output, { doubled: 14, label: { exit_code: 0, stdout: "big", stderr: "" } });
    assert.deepEqual(result.path, ["double", "big"]);
    assert.equal(result.steps_executed, 2);
    assert.match(result.execution_id, /^exec_[0-9A-Z]{26}$/);
    assert.match(result.session_id, /^session_\d{8}_\d{6}_[0-9a-f]{8}$/);
    assert.equal(result.error, null);
    assert.equal(typeof result.duration_ms, "number");
    assert.equal(result.usage.tool_calls, 1);
  });

  test("a when branch not taken ends after the first node", async () => {
    const r = await run("branching.yaml", ["--input", '{"n": 2}']);
    assert.equal(r.code, 0, r.stderr);
    const result = parse(r.stdout);
    assert.deepEqual(result.path, ["double"]);
    assert.deepEqual(result.output, { doubled: 4 });
  });

  test("a failing node without a failure edge: exit 1, error names the node, no stack trace", async () => {
    const r = await run("failing.yaml", ["--input", '{"n": 3}']);
    assert.equal(r.code, 1);
    const result = parse(r.stdout);
    assert.equal(result.status, "failed");
    assert.equal(result.success, false);
    assert.equal(result.error?.node_id, "fail");
    assert.match(result.error?.message ?? "", /cannot handle n=3/);
    assert.match(r.stderr, /cannot handle n=3/);
    assert.doesNotMatch(r.stderr, STACK_LINE);
  });

  test("a failing node with an on_failure edge recovers: exit 0", async () => {
    const r = await run("failing.yaml", ["--input", '{"n": 3, "recover": true}']);
    assert.equal(r.code, 0, r.stderr);
    const result = parse(r.stdout);
    assert.deepEqual(result.path, ["fail", "recover"]);
    assert.equal(result.output.recovered, "handled failure for n=3");
  });

  test("max_steps exceeded is a failure, never a success", async () => {
    const r = await run("looping.yaml");
    assert.equal(r.code, 1);
    const result = parse(r.stdout);
    assert.equal(result.status, "failed");
    assert.equal(result.error?.code, "max_steps_exceeded");
  });

  test("a retry that succeeds on the second try", async () => {
    const r = await run("retry.yaml");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parse(r.stdout).output.attempts, 2);
  });

  test("--timeout: exit 124 and no child process left behind", async () => {
    const r = await run("sleeper.yaml", ["--timeout", "1", "--input", '{"seconds": 37.25}']);
    assert.equal(r.code, 124, r.stderr);
    assert.equal(parse(r.stdout).status, "timed_out");
    await waitFor("the first sleep to be killed", () => processesMatching("sleep 37.25").length === 0, { timeoutMs: 5000 });
  });

  test("SIGINT during a long shell tool: exit 130, no orphan, session recorded cancelled", async () => {
    let pid = 0;
    const running = run("sleeper.yaml", ["--input", '{"seconds": 38.25}'], { onSpawn: (p) => (pid = p) });
    await waitFor("the second sleep to start", () => processesMatching("sleep 38.25").length > 0, { timeoutMs: 10000 });
    process.kill(pid, "SIGINT");
    const r = await running;
    assert.equal(r.code, 130, r.stderr);
    const result = parse(r.stdout);
    assert.equal(result.status, "cancelled");
    await waitFor("the second sleep to be killed", () => processesMatching("sleep 38.25").length === 0, { timeoutMs: 5000 });
    const shown = await runCli(["sessions", "show", result.execution_id, "--json", "--storage", storage.path]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(parse(shown.stdout).status, "cancelled");
  });

  test("a budget hit: exit 3", async () => {
    const r = await run("budget.yaml");
    assert.equal(r.code, 3, r.stderr);
    const result = parse(r.stdout);
    assert.equal(result.status, "budget_exceeded");
    assert.equal(result.usage.llm_calls, 2);
  });

  test("--input - reads stdin; --input @file reads a file", async () => {
    const r = await run("branching.yaml", ["--input", "-"], { stdin: '{"n": 6}' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parse(r.stdout).output.doubled, 12);
    const file = join(storage.path, "input.json");
    await writeFile(file, '{"n": 1}');
    const r2 = await run("branching.yaml", ["--input", `@${file}`]);
    assert.equal(parse(r2.stdout).output.doubled, 2);
  });

  test("bad --input: exit 2 with one clear line; stdout holds only the JSON error document", async () => {
    for (const bad of ["{not json", "[1,2]", '"text"']) {
      const r = await run("branching.yaml", ["--input", bad]);
      assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
      assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, "usage_error");
      assert.equal(r.stderr.trimEnd().split("\n").length <= 2, true, r.stderr);
      assert.match(r.stderr, /--input/);
      assert.doesNotMatch(r.stderr, STACK_LINE);
    }
  });

  test("an unknown entry point is a usage error listing the known ones", async () => {
    const r = await run("branching.yaml", ["--entry", "nope"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /nope/);
    assert.match(r.stderr, /default/);
  });

  test("mock LLM: a reminder after a text-only turn, then outputs through set_output", async () => {
    const r = await run("mock-llm.yaml", ["--input", '{"title": "disk full"}']);
    assert.equal(r.code, 0, r.stderr);
    const result = parse(r.stdout);
    assert.deepEqual(result.output, { severity: "high", summary: "Disk is full" });
    assert.equal(result.usage.llm_calls, 3);
  });

  test("mock LLM that never calls set_output fails clearly instead of hanging", async () => {
    const r = await run("mock-llm-chatty.yaml", ["--input", '{"title": "x"}'], { timeoutMs: 15000 });
    assert.equal(r.code, 1);
    const result = parse(r.stdout);
    assert.equal(result.status, "failed");
    assert.equal(result.error?.node_id, "classify");
    assert.match(result.error?.message ?? "", /set_output/);
    assert.equal(result.usage.llm_calls, 2);
  });

  test("state written by one run is read by the next", async () => {
    const first = parse((await run("counter.yaml")).stdout);
    const second = parse((await run("counter.yaml")).stdout);
    assert.equal(first.status, "completed");
    assert.equal(second.output.seen, Number(first.output.seen) + 1);
    const state = JSON.parse(await readFile(join(storage.path, "counter", "state.json"), "utf8"));
    assert.equal(state.counter, second.output.seen + 1);
  });

  test("without --json: a readable summary on stdout", async () => {
    const r = await runCli(["run", join(fixtures, "branching.yaml"), "--input", '{"n": 7}', "--storage", storage.path]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /completed/);
    assert.match(r.stdout, /doubled: 14/);
    assert.throws(() => JSON.parse(r.stdout));
  });

  test("under GitHub Actions: a step summary and an ::error:: annotation on failure", async () => {
    const summary = join(storage.path, "step-summary.md");
    await writeFile(summary, "");
    const env = { GITHUB_ACTIONS: "true", GITHUB_STEP_SUMMARY: summary };
    const r = await run("failing.yaml", ["--input", '{"n": 5}'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^::error title=forager failing::failed at node fail: .*cannot handle n=5/m);
    const text = await readFile(summary, "utf8");
    assert.match(text, /### ❌ forager: failing/);
    assert.match(text, /cannot handle n=5/);
  });
});
