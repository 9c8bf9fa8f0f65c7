import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot, runCli, tempDir } from "../helpers/cli.js";

describe("forager schema", () => {
  test("prints the JSON Schema, the same as the committed schema/agent.schema.json", async () => {
    const r = await runCli(["schema"]);
    assert.equal(r.code, 0, r.stderr);
    const schema = JSON.parse(r.stdout) as { title: string; properties: Record<string, unknown> };
    assert.equal(schema.title, "forager agent file");
    assert.ok("graph" in schema.properties && "entry_points" in schema.properties);
    assert.ok(
      r.stdout === readFileSync(join(repoRoot, "schema", "agent.schema.json"), "utf8"),
      "schema/agent.schema.json is stale: regenerate it with `node bin/forager.js schema > schema/agent.schema.json`",
    );
  });
});

describe("forager graph", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    dir = await tempDir("forager-graph-");
  });
  after(() => dir.cleanup());

  test("prints a Mermaid flowchart: node shapes, entry points, edge labels", async () => {
    const r = await runCli(["graph", "agents/health-check.yaml"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    assert.equal(lines[0], "flowchart TD");
    assert.ok(lines.includes('  n0_check_disk[["check_disk<br/><small>tool: disk_free</small>"]]'));
    assert.ok(lines.includes('  n1_assess{{"assess<br/><small>function</small>"}}'));
    assert.ok(lines.includes('  ep1_weekday_morning(["weekday-morning<br/><small>cron 0 9 * * 1-5 Europe/Berlin</small>"])'));
    assert.ok(lines.includes("  ep0_every_minute -.-> n0_check_disk"));
    assert.ok(lines.includes('  n1_assess -->|"when memory.status == #quot;unhealthy#quot;"| n2_alert'));
  });

  test("ids that Mermaid cannot take are made safe; failure edges are dashed", async () => {
    await writeFile(
      join(dir.path, "odd.yaml"),
      `name: odd\ntools:\n  t: { type: emit }\ngraph:\n  nodes:\n    - { id: "a.b-c", type: tool, tool: t }\n    - { id: end, type: tool, tool: t }\n  edges:\n    - { from: "a.b-c", to: end, condition: on_failure }\n`,
    );
    const r = await runCli(["graph", "odd.yaml"], { cwd: dir.path });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}n0_a_b_c\[\["a\.b-c<br\/>/m);
    // A failure edge ends in a cross, unlike the dotted entry-point links.
    assert.match(r.stdout, /^ {2}n0_a_b_c --x\|"on_failure"\| n1_end$/m);
    assert.match(r.stdout, /^ {2}ep0_default -\.-> n0_a_b_c$/m);
  });

  test("an invalid file: the issues on stderr, exit 2", async () => {
    await writeFile(join(dir.path, "bad.yaml"), "name: bad\ngraph:\n  nodes: []\n");
    const r = await runCli(["graph", "bad.yaml"], { cwd: dir.path });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^bad\.yaml:3:10 graph\.nodes: expected at least one node; found 0 items$/m);
  });
});
