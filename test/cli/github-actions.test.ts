// Inside GitHub Actions: validate annotations, run's $GITHUB_OUTPUT and log groups, and action.yml's consistency.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { repoRoot, runCli, tempDir } from "../helpers/cli.js";
import { formatStepOutputs } from "../../src/cli/github-workflow.js";

const fixtures = join(repoRoot, "test/fixtures/run");
let dir: { path: string; cleanup: () => Promise<void> };

before(async () => {
  dir = await tempDir("forager-gha-");
});
after(async () => {
  await dir.cleanup();
});

/** Reads `$GITHUB_OUTPUT` the way the runner does: `name=value` lines and `name<<DELIM` ... `DELIM` blocks. */
function readOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
      assert.ok(i < lines.length, `the ${name} block is closed by its delimiter`);
      out[name!] = value.join("\n");
    } else {
      const eq = line.indexOf("=");
      assert.ok(eq > 0, `a valid line: ${line}`);
      out[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  return out;
}

async function ghRun(args: string[]) {
  const outputFile = join(dir.path, `output-${Math.random().toString(16).slice(2)}`);
  const summaryFile = join(dir.path, `summary-${Math.random().toString(16).slice(2)}`);
  await writeFile(outputFile, "previous=kept\n");
  const r = await runCli(["run", ...args, "--storage", join(dir.path, "storage")], {
    env: { GITHUB_ACTIONS: "true", GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summaryFile },
  });
  return { ...r, outputs: readOutputs(await readFile(outputFile, "utf8")) };
}

describe("GitHub Actions", () => {
  test("run writes status, execution_id, session_id and output to $GITHUB_OUTPUT, appending", async () => {
    const r = await ghRun([join(fixtures, "branching.yaml"), "--input", '{"n": 7}', "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(r.outputs.previous, "kept", "earlier outputs of the step are kept");
    assert.equal(r.outputs.status, "completed");
    assert.equal(r.outputs.execution_id, result.execution_id);
    assert.equal(r.outputs.session_id, result.session_id);
    assert.deepEqual(JSON.parse(r.outputs.output!), result.output);
  });

  test("a failed run: status failed in the outputs, an ::error:: annotation, the run's logs folded in a group", async () => {
    const r = await ghRun([join(fixtures, "failing.yaml"), "--input", '{"n": 3}', "-v"]);
    assert.equal(r.code, 1);
    assert.equal(r.outputs.status, "failed");
    assert.match(r.outputs.execution_id!, /^exec_/);
    assert.deepEqual(JSON.parse(r.outputs.output!), {});
    const lines = r.stderr.split("\n");
    const start = lines.indexOf("::group::forager run failing (default)");
    const end = lines.indexOf("::endgroup::");
    assert.ok(start >= 0 && end > start, r.stderr);
    // The run's (debug) logs are inside the group, the error line after it.
    assert.ok(lines.slice(start + 1, end).some((l) => /node/.test(l)), r.stderr);
    assert.ok(lines.findIndex((l) => l.startsWith("error: ")) > end, r.stderr);
    const annotation = lines.findIndex((l) => l.startsWith("::error title=forager failing::"));
    assert.ok(annotation > end, r.stderr);
  });

  test("a skipped event run: status skipped, empty ids", async () => {
    const input = JSON.stringify({ event: { type: "webhook_received", stream_id: "github", data: { payload: { action: "closed" } } } });
    const r = await ghRun([join(fixtures, "event-filter.yaml"), "--entry", "opened", "--input", input]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.outputs.status, "skipped");
    assert.equal(r.outputs.execution_id, "");
    assert.equal(r.outputs.output, "{}");
  });

  test("outside GitHub Actions nothing is written and no workflow command is printed", async () => {
    const outputFile = join(dir.path, "untouched");
    await writeFile(outputFile, "");
    const r = await runCli(["run", join(fixtures, "failing.yaml"), "--input", '{"n": 3}', "--storage", join(dir.path, "storage")], {
      env: { GITHUB_ACTIONS: undefined, GITHUB_OUTPUT: outputFile },
    });
    assert.equal(r.code, 1);
    assert.equal(await readFile(outputFile, "utf8"), "");
    assert.doesNotMatch(r.stderr, /^::/m);
  });

  test("multi-line values survive: the delimiter never occurs in a value", () => {
    const tricky = { output: '{"a":"x"}\nghadelimiter_\nEOF\n', status: "completed" };
    const text = formatStepOutputs(tricky);
    assert.deepEqual(readOutputs(text), { output: tricky.output, status: "completed" });
  });

  test("validate prints ::error file,line,col annotations, relative to the workspace", async () => {
    const file = join(dir.path, "bad.yaml");
    await writeFile(file, "name: bad\ngraph:\n  nodes:\n    - id: a\n      type: nonsense, really\n");
    const r = await runCli(["validate", file], { env: { GITHUB_ACTIONS: "true", GITHUB_WORKSPACE: dir.path } });
    assert.equal(r.code, 2);
    const annotations = r.stderr.split("\n").filter((l) => l.startsWith("::error "));
    assert.ok(annotations.length >= 1, r.stderr);
    assert.match(annotations[0]!, /^::error file=bad\.yaml,line=\d+,col=\d+::.+/);
    assert.equal(r.stdout, "");
    // Plain mode prints none.
    const plain = await runCli(["validate", file], { env: { GITHUB_ACTIONS: undefined } });
    assert.doesNotMatch(plain.stderr, /^::error/m);
    // A property value with a comma or colon is escaped so it cannot end the property early.
    const odd = join(dir.path, "a,b:c.yaml");
    await writeFile(odd, "name: bad\ngraph: 3\n");
    const escaped = await runCli(["validate", odd], { env: { GITHUB_ACTIONS: "true", GITHUB_WORKSPACE: dir.path } });
    assert.match(escaped.stderr, /^::error file=a%2Cb%3Ac\.yaml,line=2,col=\d+::/m);
  });

  test("action.yml: a composite action whose steps use only declared inputs and whose outputs come from the run step", async () => {
    const text = await readFile(join(repoRoot, "action.yml"), "utf8");
    const action = parse(text) as {
      name: string;
      inputs: Record<string, { required?: boolean; default?: string }>;
      outputs: Record<string, { value: string }>;
      runs: { using: string; steps: { id?: string; uses?: string; run?: string; with?: Record<string, string> }[] };
    };
    assert.equal(action.runs.using, "composite");
    assert.ok(action.runs.steps.some((s) => s.uses?.startsWith("actions/setup-node@")));
    assert.equal(action.inputs.agent?.required, true);
    for (const name of ["input", "entry", "timeout"]) assert.ok(name in action.inputs, `input ${name}`);
    const used = [...text.matchAll(/\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}/g)].map((m) => m[1]!);
    assert.ok(used.length > 0);
    for (const name of used) assert.ok(name in action.inputs, `inputs.${name} is declared`);
    for (const name of Object.keys(action.inputs)) assert.ok(used.includes(name), `input ${name} is used`);
    const stepIds = new Set(action.runs.steps.map((s) => s.id).filter(Boolean));
    assert.deepEqual(Object.keys(action.outputs).sort(), ["execution_id", "output", "session_id", "status"]);
    for (const [name, output] of Object.entries(action.outputs)) {
      const m = /^\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}$/.exec(output.value);
      assert.ok(m, `output ${name} maps a step output`);
      assert.ok(stepIds.has(m[1]!), `step ${m[1]} exists`);
      assert.equal(m[2], name);
    }
    const runStep = action.runs.steps.find((s) => s.id === "run")!;
    assert.match(runStep.run!, /bin\/forager\.js" "\$\{args\[@\]\}"/);
    assert.doesNotMatch(runStep.run!, /\$\{\{/, "inputs reach the script through env, not pasted into it");
  });
});
