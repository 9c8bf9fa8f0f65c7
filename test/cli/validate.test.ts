import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot, runCli, tempDir, STACK_LINE } from "../helpers/cli.js";

const GOOD = `name: demo
tools:
  hook: { type: emit }
graph:
  nodes:
    - { id: first, type: tool, tool: hook }
    - { id: second, type: tool, tool: hook }
  edges:
    - { from: first, to: second }
`;

/** name, file content, the one line expected on stderr (as a pattern). */
const BAD_INPUTS: Array<[string, string | Buffer, RegExp]> = [
  ["tabs.yaml", "name: demo\ngraph:\n\tnodes: []\n", /^tabs\.yaml:3:1 tabs are not allowed as indentation; indent with spaces$/],
  ["indent.yaml", "name: demo\ngraph:\n  nodes:\n    - id: a\n   type: tool\n", /^indent\.yaml:5:\d+ .*(indent|mapping|column)/i],
  ["duplicate.yaml", GOOD.replace("tools:", "name: again\ntools:"), /^duplicate\.yaml:2:1 duplicate key "name"/],
  ["edge-typo.yaml", GOOD.replace("to: second", "to: secnd"), /^edge-typo\.yaml:9:26 graph\.edges\[0\]\.to: no node "secnd" \(did you mean "second"\?\)$/],
  [
    "enum-typo.yaml",
    GOOD.replace("to: second", "to: second, condition: sucess"),
    /^enum-typo\.yaml:9:\d+ graph\.edges\[0\]\.condition: expected one of on_success, on_failure, always; found 'sucess' \(did you mean "on_success"\?\)$/,
  ],
  ["unknown-key.yaml", `${GOOD}grpah: {}\n`, /^unknown-key\.yaml:10:1 grpah: unknown key "grpah" \(did you mean "graph"\?\)$/],
  [
    "timer.yaml",
    `${GOOD}entry_points:\n  - id: tick\n    trigger_type: timer\n    trigger_config: { run_immediately: true }\n`,
    /^timer\.yaml:13:21 entry_points\[0\]\.trigger_config: a timer needs one of interval_minutes, interval_seconds or cron; found none$/,
  ],
  [
    "cron.yaml",
    `${GOOD}entry_points:\n  - id: tick\n    trigger_type: timer\n    trigger_config:\n      cron: "61 * * * *"\n`,
    /^cron\.yaml:14:13 entry_points\[0\]\.trigger_config\.cron: invalid cron '61 \* \* \* \*': Invalid value for minute: 61$/,
  ],
  [
    "timezone.yaml",
    `${GOOD}entry_points:\n  - id: tick\n    trigger_type: timer\n    trigger_config:\n      cron: "0 9 * * *"\n      timezone: Mars/Olympus\n`,
    /^timezone\.yaml:15:17 entry_points\[0\]\.trigger_config\.timezone: unknown time zone 'Mars\/Olympus'/,
  ],
  [
    "webhook.yaml",
    `${GOOD}runtime:\n  webhook_routes:\n    - source_id: github\n      path: /webhooks/github\n`,
    /^webhook\.yaml:12:7 runtime\.webhook_routes\[0\]: webhook route \/webhooks\/github has no secret: set secret \(or secrets\), or allow_unsigned: true/,
  ],
  ["empty.yaml", "", /^empty\.yaml:1:1 the file is empty/],
  ["list.yaml", "- name: demo\n- graph: {}\n", /^list\.yaml:1:1 expected an agent definition \(a map with name and graph\); found a list$/],
  ["binary.yaml", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), /^binary\.yaml:1:1 not a text file/],
  ["huge.yaml", Buffer.alloc(5 * 1024 * 1024, "a"), /^huge\.yaml:1:1 the file is 5\.0 MiB; agent files are limited to 1\.0 MiB$/],
];

let dir: { path: string; cleanup: () => Promise<void> };
before(async () => {
  dir = await tempDir("forager-validate-");
  await writeFile(join(dir.path, "good.yaml"), GOOD);
  for (const [name, content] of BAD_INPUTS) await writeFile(join(dir.path, name), content);
  await writeFile(join(dir.path, "unset.yaml"), `${GOOD}runtime:\n  webhook_host: \${UNSET_VAR}\n`);
});
after(() => dir.cleanup());

const ENV = { UNSET_VAR: undefined, GITHUB_WEBHOOK_SECRET: "test-secret" };

describe("forager validate", () => {
  test("a valid file: exit 0, `ok <file>` on stdout, nothing on stderr", async () => {
    const r = await runCli(["validate", "good.yaml"], { cwd: dir.path, env: ENV });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "ok good.yaml\n");
    assert.equal(r.stderr, "");
  });

  for (const [name, , pattern] of BAD_INPUTS) {
    test(`${name}: exit 2, the problem with file:line:col and the summary line, no stack trace`, async () => {
      const r = await runCli(["validate", name], { cwd: dir.path, env: ENV });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, "");
      const lines = r.stderr.trimEnd().split("\n");
      assert.match(lines[0]!, pattern, r.stderr);
      assert.match(lines[0]!, new RegExp(`^${name.replace(".", "\\.")}:\\d+:\\d+ `));
      // Each problem, then the same summary line for one problem as for many.
      if (name === "indent.yaml") assert.match(lines[lines.length - 1]!, /^error: \d+ problems? in 1 of 1 file$/);
      else assert.deepEqual(lines.slice(1), ["error: 1 problem in 1 of 1 file"], r.stderr);
      assert.doesNotMatch(r.stderr, STACK_LINE);
      assert.doesNotMatch(r.stderr, /^\s+at /m);
    });
  }

  test("a file that does not exist: the path with no line and column, and a nearby name", async () => {
    const r = await runCli(["validate", "good.yml"], { cwd: dir.path, env: ENV });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "good.yml: no such file (did you mean good.yaml?)\nerror: 1 problem in 1 of 1 file\n");
  });

  test("an unset ${VAR} without default: a warning naming it and its line, exit 0; --strict-env makes it an error", async () => {
    const r = await runCli(["validate", "unset.yaml"], { cwd: dir.path, env: ENV });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "ok unset.yaml (1 warning)\n");
    assert.match(r.stderr, /^warning: unset\.yaml:11:17 runtime\.webhook_host: environment variable UNSET_VAR is not set .*; run and serve need it\n$/);
    const json = await runCli(["validate", "--json", "unset.yaml"], { cwd: dir.path, env: ENV });
    assert.equal(json.code, 0);
    const [result] = JSON.parse(json.stdout) as Array<{ valid: boolean; warnings: Array<{ line: number; message: string }> }>;
    assert.equal(result!.valid, true);
    assert.equal(result!.warnings[0]!.line, 11);
    assert.match(result!.warnings[0]!.message, /UNSET_VAR/);
    const strict = await runCli(["validate", "--strict-env", "unset.yaml"], { cwd: dir.path, env: ENV });
    assert.equal(strict.code, 2);
    assert.equal(strict.stdout, "");
    assert.match(strict.stderr, /^unset\.yaml:11:17 runtime\.webhook_host: environment variable UNSET_VAR is not set/);
    assert.match(strict.stderr, /\nerror: 1 problem in 1 of 1 file\n$/);
  });

  test("run still treats an unset ${VAR} as a definition error", async () => {
    const r = await runCli(["run", "unset.yaml", "--storage", join(dir.path, "storage")], { cwd: dir.path, env: ENV });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^unset\.yaml:11:17 runtime\.webhook_host: environment variable UNSET_VAR is not set/);
  });

  test("an invalid or missing name does not hide the file's other problems", async () => {
    const body = "graph:\n  nodes:\n    - { id: first, type: function, module: ./missing.mjs }\n";
    await writeFile(join(dir.path, "bad-name.yaml"), `name: "Bad Name!"\n${body}`);
    await writeFile(join(dir.path, "no-name.yaml"), body);
    const bad = await runCli(["validate", "bad-name.yaml"], { cwd: dir.path, env: ENV });
    assert.equal(bad.code, 2, bad.stderr);
    const badLines = bad.stderr.trimEnd().split("\n");
    assert.match(badLines[0]!, /^bad-name\.yaml:1:7 name: expected a lower-case name/);
    assert.match(badLines[1]!, /^bad-name\.yaml:4:\d+ graph\.nodes\[0\]\.module: module file not found: .*missing\.mjs$/);
    assert.equal(badLines[2], "error: 2 problems in 1 of 1 file");
    const missing = await runCli(["validate", "no-name.yaml"], { cwd: dir.path, env: ENV });
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /^no-name\.yaml:1:1 name: missing required key "name"/);
    assert.match(missing.stderr, /\nno-name\.yaml:3:\d+ graph\.nodes\[0\]\.module: module file not found/);
    assert.match(missing.stderr, /\nerror: 2 problems in 1 of 1 file\n$/);
  });

  test("several files: every issue of every file, exit 2 when any is invalid", async () => {
    const r = await runCli(["validate", "good.yaml", "edge-typo.yaml", "unknown-key.yaml"], { cwd: dir.path, env: ENV });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "ok good.yaml\n");
    assert.match(r.stderr, /^edge-typo\.yaml:9:26 /m);
    assert.match(r.stderr, /^unknown-key\.yaml:10:1 /m);
    assert.match(r.stderr, /error: 2 problems in 2 of 3 files\n$/);
  });

  test("--json: an array of {file, valid, issues} on stdout", async () => {
    const r = await runCli(["validate", "--json", "good.yaml", "cron.yaml"], { cwd: dir.path, env: ENV });
    assert.equal(r.code, 2);
    const parsed = JSON.parse(r.stdout) as Array<{ file: string; valid: boolean; issues: Array<Record<string, unknown>> }>;
    assert.deepEqual(parsed[0], { file: "good.yaml", valid: true, issues: [], warnings: [] });
    assert.equal(parsed[1]!.file, "cron.yaml");
    assert.equal(parsed[1]!.valid, false);
    assert.deepEqual(parsed[1]!.issues[0], {
      file: "cron.yaml",
      line: 14,
      col: 13,
      path: "entry_points[0].trigger_config.cron",
      message: "invalid cron '61 * * * *': Invalid value for minute: 61",
    });
  });

  test("every example in agents/ validates with no secrets in the environment", async () => {
    const examples = (await readdir(join(repoRoot, "agents"))).filter((f) => f.endsWith(".yaml")).map((f) => `agents/${f}`);
    assert.ok(examples.length >= 5, "examples found");
    // Only what a fresh CI machine has: no API keys, tokens or secrets.
    const scrubbed: Record<string, string | undefined> = {};
    for (const key of Object.keys(process.env)) if (!["PATH", "HOME", "LANG", "TMPDIR"].includes(key)) scrubbed[key] = undefined;
    const r = await runCli(["validate", ...examples], { env: { ...scrubbed, NO_COLOR: "1" } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split("\n").length, examples.length);
    assert.doesNotMatch(r.stderr, /^error/m);
  });
});
