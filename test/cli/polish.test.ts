// Small things users meet: the no-server hint, costs, the step summary.
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { runCli, tempDir } from "../helpers/cli.js";
import { markdownSummary } from "../../src/cli/github-actions.js";
import { formatCost, formatDuration } from "../../src/cli/format-result.js";
import type { ExecutionResult } from "../../src/result.js";

const dirs: Array<{ cleanup: () => Promise<void> }> = [];
after(async () => {
  for (const d of dirs) await d.cleanup();
});

describe("polish", () => {
  test("no server found: the hint names --storage, FORAGER_STORAGE and FORAGER_URL", async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const r = await runCli(["stats", "--storage", dir.path], { env: { FORAGER_URL: undefined, FORAGER_TOKEN: undefined } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: no running forager serve found .*--storage DIR \(or FORAGER_STORAGE\).*FORAGER_URL/);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1);
  });

  test("costs keep two significant digits; durations use one style", () => {
    assert.equal(formatCost(0.000042), "$0.000042");
    assert.equal(formatCost(0.0123), "$0.01");
    assert.equal(formatCost(1.5), "$1.50");
    assert.equal(formatDuration(480), "480ms");
    assert.equal(formatDuration(1013), "1.01s");
  });

  test("the GitHub step summary keeps multi-line values apart", () => {
    const result = {
      schema_version: 1,
      execution_id: "exec_1",
      session_id: "s",
      agent: "a",
      entry_point: "default",
      status: "completed",
      success: true,
      output: { report: "line one\nline two" },
      error: null,
      path: ["n"],
      steps_executed: 1,
      usage: { llm_calls: 1, tool_calls: 0, input_tokens: 10, output_tokens: 5, cost_usd: 0.00003 },
      started_at: null,
      finished_at: null,
      duration_ms: 1200,
    } as unknown as ExecutionResult;
    const md = markdownSummary(result);
    assert.match(md, /\| report \| line one<br>line two \|/);
    assert.match(md, /cost: \$0\.000030/);
  });
});
