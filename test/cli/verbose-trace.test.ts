// `run -v` shows node transitions, each LLM turn and each tool call at debug level (SPEC 2).
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
// Where -v's stack traces point is the business of bin/forager.js (it turns
// source maps on for the bundle): each command runs in a process of its own.
import { repoRoot, spawnCli as runCli, tempDir } from "../helpers/cli.js";

const dirs: Array<{ cleanup: () => Promise<void> }> = [];
after(async () => {
  for (const d of dirs) await d.cleanup();
});

describe("run -v", () => {
  test("debug lines for node transitions, LLM turns (model, tokens, ms) and tool calls (name, args, ms)", async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const r = await runCli(["-v", "run", join(repoRoot, "agents/mock-research.yaml"), "--storage", join(dir.path, "s")], { env: { LOG_FORMAT: "json" } });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const trace = lines.filter((l) => l.component === "trace");
    assert.ok(trace.some((l) => l.msg === "node research started" && l.level === "debug"));
    assert.ok(trace.some((l) => l.msg === "node research completed" && typeof l.duration_ms === "number"));
    const turn = trace.find((l) => String(l.msg).startsWith("LLM turn 1"));
    assert.ok(turn, r.stderr);
    assert.equal(turn.model, "mock");
    assert.equal(typeof turn.input_tokens, "number");
    assert.equal(typeof turn.duration_ms, "number");
    const tool = trace.find((l) => l.tool === "count_lines");
    assert.ok(tool, r.stderr);
    assert.deepEqual(tool.args, { path: "issue-triage.yaml" });
    assert.equal(typeof tool.duration_ms, "number");

    const quiet = await runCli(["run", join(repoRoot, "agents/mock-research.yaml"), "--storage", join(dir.path, "s")], { env: { LOG_FORMAT: "json", LOG_LEVEL: "info" } });
    assert.equal(quiet.code, 0);
    assert.doesNotMatch(quiet.stderr, /"component":"trace"/);
  });

  test("-v: a function node's error keeps its class, and its stack points at the module and at src/ (worker thread included)", async () => {
    const dir = await tempDir();
    dirs.push(dir);
    await writeFile(
      join(dir.path, "boom.mjs"),
      `class DiskFullError extends Error { constructor(m) { super(m); this.name = "DiskFullError"; } }\nexport default () => { throw new DiskFullError("no space left on /data"); };\n`,
    );
    await writeFile(join(dir.path, "agent.yaml"), "name: fe\ngraph:\n  nodes:\n    - { id: check, type: function, module: ./boom.mjs, output_keys: [ok] }\n");
    const r = await runCli(["-v", "run", join(dir.path, "agent.yaml"), "--storage", join(dir.path, "s")], { env: { LOG_FORMAT: "json" } });
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const threw = lines.find((l) => l.msg === "function node threw");
    assert.ok(threw, r.stderr);
    const err = threw.err as { type: string; stack: string };
    assert.equal(err.type, "DiskFullError");
    assert.match(err.stack, /boom\.mjs:2:\d+/);
    assert.match(err.stack, /src\/graph\/nodes\/function-worker\.ts:\d+:\d+/);
    assert.doesNotMatch(err.stack, /dist\/bundle\//);
  });

  test("-v stack traces point at src/, not at bundle chunks", async () => {
    const r = await runCli(["-v", "run", "does-not-exist.yaml"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^\s+at .*src\/config\/load\.ts:\d+:\d+\)?$/m, r.stderr);
    assert.doesNotMatch(r.stderr, /dist\/bundle\//);
  });
});
