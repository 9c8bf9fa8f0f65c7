// `forager run --stream-json` (SPEC 1): one JSON line per event while the run goes, the result last.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { STACK_LINE, repoRoot, runCli, tempDir } from "../helpers/cli.js";
import type { JsonLine } from "../helpers/api-types.js";

const fixtures = join(repoRoot, "test/fixtures/run");
let storage: { path: string; cleanup: () => Promise<void> };

before(async () => {
  storage = await tempDir("forager-stream-");
});
after(async () => {
  await storage.cleanup();
});

function lines(stdout: string): JsonLine[] {
  assert.ok(stdout.endsWith("\n"), "stdout ends with a newline");
  return stdout
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as JsonLine);
}

describe("forager run --stream-json", () => {
  test("every event as one JSON line in order, then the result with type result", async () => {
    const r = await runCli(["run", join(fixtures, "branching.yaml"), "--stream-json", "--storage", storage.path, "--input", '{"n": 7}']);
    assert.equal(r.code, 0, r.stderr);
    const docs = lines(r.stdout);
    const result = docs.at(-1)!;
    assert.equal(result.type, "result");
    assert.equal(result.status, "completed");
    assert.equal(result.schema_version, 1);
    assert.deepEqual(result.path, ["double", "big"]);
    const events = docs.slice(0, -1);
    const types = events.map((e) => e.type);
    assert.equal(types[0], "execution_started");
    assert.equal(types.at(-1), "execution_completed");
    for (const t of ["node_started", "node_completed", "edge_traversed", "tool_call_started", "tool_call_completed"]) {
      assert.ok(types.includes(t), `an ${t} event among ${types.join(",")}`);
    }
    for (const e of events) {
      assert.equal(e.execution_id, result.execution_id);
      assert.match(e.id ?? "", /.+/);
      assert.match(e.timestamp ?? "", /^\d{4}-\d\d-\d\dT/);
    }
    // Node order: double's events come before big's.
    const started = events.filter((e) => e.type === "node_started").map((e) => e.node_id);
    assert.deepEqual(started, ["double", "big"]);
  });

  test("a failed run: events, the result line last, exit 1, one error line on stderr", async () => {
    const r = await runCli(["run", join(fixtures, "failing.yaml"), "--stream-json", "--storage", storage.path, "--input", '{"n": 3}']);
    assert.equal(r.code, 1);
    const docs = lines(r.stdout);
    assert.equal(docs.at(-1)!.type, "result");
    assert.equal(docs.at(-1)!.status, "failed");
    assert.ok(docs.some((d) => d.type === "node_failed"));
    assert.match(r.stderr, /cannot handle n=3/);
    assert.doesNotMatch(r.stderr, STACK_LINE);
  });

  test("events reach stdout while the run is still going", async () => {
    // The sleeper's tool runs 3 s: the first event must be readable long before the result.
    const { spawn } = await import("node:child_process");
    const child = spawn(
      process.execPath,
      [join(repoRoot, "bin/forager.js"), "run", join(fixtures, "sleeper.yaml"), "--stream-json", "--storage", storage.path, "--input", '{"seconds": 3}'],
      { env: { ...process.env, NO_COLOR: "1", LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      let out = "";
      const firstLine = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no event within 20 s")), 20_000);
        child.stdout.on("data", (d) => {
          out += d;
          if (out.includes("\n")) {
            clearTimeout(timer);
            resolve(out.slice(0, out.indexOf("\n")));
          }
        });
      });
      assert.equal(JSON.parse(firstLine).type, "execution_started");
      // The process is still running: the result has not been printed yet.
      assert.equal(child.exitCode, null);
      assert.doesNotMatch(out, /"type":"result"/);
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      assert.equal(code, 0);
      assert.equal(lines(out).at(-1)!.type, "result");
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("--stream-json with --json is a usage error: exit 2, the JSON error document on stdout", async () => {
    const r = await runCli(["run", join(fixtures, "branching.yaml"), "--stream-json", "--json", "--storage", storage.path]);
    assert.equal(r.code, 2);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.status, "error");
    assert.equal(doc.success, false);
    assert.equal(doc.error.code, "usage_error");
    assert.match(doc.error.message, /--json and --stream-json/);
    assert.match(r.stderr, /--json and --stream-json/);
  });

  test("errors before a result print the JSON error document: definition error, bad input, unknown flag", async () => {
    const missing = await runCli(["run", join(fixtures, "nope.yaml"), "--stream-json", "--storage", storage.path]);
    assert.equal(missing.code, 2);
    const doc = JSON.parse(missing.stdout);
    assert.equal(doc.schema_version, 1);
    assert.ok(["usage_error", "definition_error"].includes(doc.error.code));

    const badInput = await runCli(["run", join(fixtures, "branching.yaml"), "--stream-json", "--input", "[1]", "--storage", storage.path]);
    assert.equal(badInput.code, 2);
    assert.equal(JSON.parse(badInput.stdout).error.code, "usage_error");

    const badFlag = await runCli(["run", join(fixtures, "branching.yaml"), "--stream-json", "--bogus"]);
    assert.equal(badFlag.code, 2);
    assert.equal(JSON.parse(badFlag.stdout).error.code, "usage_error");
    assert.match(JSON.parse(badFlag.stdout).error.message, /bogus/);
  });

  test("a definition error carries its issues with line and column", async () => {
    const dir = await tempDir("forager-stream-def-");
    try {
      const { writeFile } = await import("node:fs/promises");
      const file = join(dir.path, "bad.yaml");
      await writeFile(file, "name: bad\ngraph:\n  nodes:\n    - id: a\n      type: nonsense\n");
      const r = await runCli(["run", file, "--stream-json", "--storage", storage.path]);
      assert.equal(r.code, 2);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.error.code, "definition_error");
      assert.ok(doc.error.issues.length >= 1);
      const issue = doc.error.issues[0];
      assert.equal(issue.file, file);
      assert.equal(typeof issue.line, "number");
      assert.equal(typeof issue.column, "number");
      assert.equal(typeof issue.message, "string");
    } finally {
      await dir.cleanup();
    }
  });
});
