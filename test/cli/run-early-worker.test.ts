// `forager run` starts a function worker as soon as the YAML is parsed, so
// the thread's start-up overlaps the schema check (issue 15). The worker is
// closed on every way out: a completed run, a file that fails its checks, a
// run that never starts.
import { test, describe, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot, runCli, tempDir } from "../helpers/cli.js";
import { FunctionPool } from "../../src/graph/nodes/function-pool.js";
import { loadAgentSource } from "../../src/config/load.js";
import { DefinitionError } from "../../src/errors.js";

const fixtures = join(repoRoot, "test/fixtures/run");
let dir: { path: string; cleanup: () => Promise<void> };

// Every pool asked to start a worker early, once each, in the order they were.
const prewarmed: FunctionPool[] = [];
const originalPrewarm = FunctionPool.prototype.prewarm;

before(async () => {
  dir = await tempDir("forager-early-worker-");
  FunctionPool.prototype.prewarm = function (this: FunctionPool) {
    if (!prewarmed.includes(this)) prewarmed.push(this);
    originalPrewarm.call(this);
  };
});
after(async () => {
  FunctionPool.prototype.prewarm = originalPrewarm;
  await dir.cleanup();
});
afterEach(() => {
  prewarmed.length = 0;
});

const FUNCTION_AGENT = `name: early
graph:
  output_keys: [doubled]
  nodes:
    - id: double
      type: function
      module: ${join(fixtures, "lib", "steps.mjs")}
      export: double
      output_keys: [doubled]
`;

const SHELL_AGENT = `name: shell-only
tools:
  say: { type: shell, command: ["printf", "hi"] }
graph:
  output_keys: [said]
  nodes:
    - { id: say, type: tool, tool: say, output_keys: [said] }
`;

describe("run: the function worker starts while the file is checked", () => {
  test("a file with function nodes: one worker starts, the run completes, no thread is left", async () => {
    const r = await runCli(["run", join(fixtures, "branching.yaml"), "--json", "--storage", join(dir.path, "s1"), "--input", '{"n": 2}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).status, "completed");
    assert.equal(prewarmed.length, 1);
    assert.equal(prewarmed[0]!.size, 0, "the worker ended with the run");
  });

  test("a file that fails its checks: the worker started from the parsed YAML is closed, exit 2", async () => {
    const file = join(dir.path, "invalid.yaml");
    await writeFile(file, `${FUNCTION_AGENT}unknown_section: true\n`);
    const r = await runCli(["run", file, "--json", "--storage", join(dir.path, "s2")]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout + r.stderr, /unknown_section/);
    assert.equal(prewarmed.length, 1, "the worker starts before the schema check");
    assert.equal(prewarmed[0]!.size, 0, "no worker thread is left behind");
  });

  test("a run that never starts (unknown entry point): the worker is closed", async () => {
    const file = join(dir.path, "valid.yaml");
    await writeFile(file, FUNCTION_AGENT);
    const r = await runCli(["run", file, "--json", "--storage", join(dir.path, "s3"), "--entry", "nope"]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(prewarmed.length, 1);
    assert.equal(prewarmed[0]!.size, 0);
  });

  test("a file without function nodes starts no worker", async () => {
    const file = join(dir.path, "shell-only.yaml");
    await writeFile(file, SHELL_AGENT);
    const r = await runCli(["run", file, "--json", "--storage", join(dir.path, "s4")]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).output.said.stdout, "hi");
    assert.equal(prewarmed.length, 0);
  });
});

describe("loadAgent's onData", () => {
  test("sees the parsed data before the schema check, even when the check fails", () => {
    const seen: unknown[] = [];
    assert.throws(
      () => loadAgentSource(`${FUNCTION_AGENT}unknown_section: true\n`, { path: "a.yaml", onData: (data) => seen.push(structuredClone(data)) }),
      DefinitionError,
    );
    assert.equal(seen.length, 1);
    assert.equal((seen[0] as { name: string }).name, "early");
    assert.equal((seen[0] as { unknown_section: boolean }).unknown_section, true);
  });

  test("is not called for a file whose YAML does not parse", () => {
    let calls = 0;
    assert.throws(() => loadAgentSource("name: [unclosed\n", { path: "b.yaml", onData: () => calls++ }), DefinitionError);
    assert.equal(calls, 0);
  });
});
