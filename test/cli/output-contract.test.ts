// What pipelines and log shippers rely on: a closed stdout ends quietly,
// --json always prints JSON, JSON log mode writes only JSON to stderr, and
// bad log settings are usage errors (SPEC 1, 2).
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
// The contract is about what the real process writes to its stdout and
// stderr and how it exits: every command here runs bin/forager.js.
import { binPath, repoRoot, spawnCli as runCli, tempDir, STACK_LINE } from "../helpers/cli.js";

const dirs: Array<{ cleanup: () => Promise<void> }> = [];
after(async () => {
  for (const d of dirs) await d.cleanup();
});

/** Runs the CLI with the read end of its stdout closed before it writes, as `| head -1` does to a long output. */
function runAndCloseStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("did not finish"));
    }, 30000);
    child.stdout.destroy();
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .trimEnd()
    .split("\n")
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        assert.fail(`not a JSON line on stderr: ${line}`);
      }
    });
}

describe("output contract", () => {
  test("stdout closed by its reader (`forager schema | head -1`): exit 0, nothing on stderr", async () => {
    for (const args of [["schema"], ["--help"], ["graph", "agents/disk-report.yaml"]]) {
      const r = await runAndCloseStdout(args);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr, "", args.join(" "));
    }
  });

  test("--json with a usage, definition or connection error still prints the JSON error document, exit 2", async () => {
    const dir = await tempDir();
    dirs.push(dir);
    await writeFile(join(dir.path, "bad.yaml"), "name: demo\ngraph:\n  nodes:\n    - { id: a, type: tool, tool: nope }\n");
    const cases: Array<[string[], string]> = [
      [["run", "bad.yaml", "--json"], "definition_error"],
      [["run", "bad.yaml", "--json", "--bogus"], "usage_error"],
      [["run", "missing.yaml", "--json"], "definition_error"],
      [["run", "bad.yaml", "--json", "--input", "[1]"], "usage_error"],
      [["validate", "--json", "--nope", "bad.yaml"], "usage_error"],
      [["trigger", "default", "--json", "--storage", dir.path], "connection_error"],
      [["stats", "--json", "--storage", dir.path], "connection_error"],
    ];
    for (const [args, code] of cases) {
      const r = await runCli(args, { cwd: dir.path, env: { FORAGER_URL: undefined, FORAGER_TOKEN: undefined } });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      const doc = JSON.parse(r.stdout) as { schema_version: number; status: string; success: boolean; error: { code: string; message: string; issues: unknown[] } };
      assert.equal(doc.schema_version, 1);
      assert.equal(doc.status, "error");
      assert.equal(doc.success, false);
      assert.equal(doc.error.code, code, args.join(" "));
      assert.ok(doc.error.message.length > 0);
      assert.ok(Array.isArray(doc.error.issues));
      if (args[1] === "bad.yaml" && code === "definition_error") {
        assert.deepEqual(doc.error.issues[0], { file: "bad.yaml", line: 4, column: 34, path: "graph.nodes[0].tool", message: (doc.error.issues[0] as { message: string }).message });
      }
    }
  });

  test("LOG_FORMAT=json: every stderr line is JSON, the final error line included", async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const failing = await runCli(["run", join(repoRoot, "test/fixtures/run/failing.yaml"), "--storage", join(dir.path, "s")], { env: { LOG_FORMAT: "json", LOG_LEVEL: "debug" } });
    assert.equal(failing.code, 1);
    const lines = jsonLines(failing.stderr);
    for (const line of lines) {
      assert.equal(typeof line.time, "string");
      assert.equal(typeof line.level, "string");
      assert.equal(typeof line.msg, "string");
    }
    assert.match(String(lines[lines.length - 1]!.msg), /failed at node fail/);
    assert.equal(lines[lines.length - 1]!.level, "error");

    const usage = await runCli(["run", "nope.yaml", "--bogus"], { env: { LOG_FORMAT: "json" } });
    assert.equal(usage.code, 2);
    assert.ok(jsonLines(usage.stderr).some((l) => l.level === "error" && /unknown option/.test(String(l.msg))));

    const definition = await runCli(["run", "nope.yaml"], { env: { LOG_FORMAT: "json" } });
    assert.equal(definition.code, 2);
    const [only] = jsonLines(definition.stderr);
    assert.equal(only!.level, "error");
    assert.match(String(only!.msg), /nope\.yaml: no such file/);
  });

  test("-v with -q, an unknown LOG_LEVEL or LOG_FORMAT: a usage error naming the value, exit 2", async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [["-v", "-q", "schema"], {}, /^error: -v\/--verbose and -q\/--quiet contradict each other/],
      [["schema"], { LOG_LEVEL: "verbose" }, /^error: LOG_LEVEL="verbose" is not a log level; use one of: trace, debug/],
      [["schema"], { LOG_FORMAT: "xml" }, /^error: LOG_FORMAT="xml" is not a log format; use json or human/],
    ];
    for (const [args, env, pattern] of cases) {
      const r = await runCli(args, { env });
      assert.equal(r.code, 2, `${args.join(" ")} ${JSON.stringify(env)}`);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, STACK_LINE);
    }
    const json = await runCli(["-v", "-q", "run", "x.yaml", "--json"]);
    assert.equal(json.code, 2);
    assert.equal((JSON.parse(json.stdout) as { error: { code: string } }).error.code, "usage_error");
  });
});
