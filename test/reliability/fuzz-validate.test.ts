/**
 * Scenario 6 (first half): 2 000 mutated agent files, made from the example
 * agents with a seeded PRNG (deleted lines, swapped types, random bytes,
 * bad indentation, truncation), through `forager validate`. No crash, no
 * stack trace, and every problem has a line and a column.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, runCli, STACK_LINE, tempDir } from "../helpers/cli.js";
import { pick, prng } from "./helpers.js";

const SEED = Number(process.env.FORAGER_FUZZ_SEED ?? 20261123);
const FILES = 2000;
const BATCH = 250;
const ENV = { OPENAI_API_KEY: "sk-fuzz-placeholder", ANTHROPIC_API_KEY: "sk-ant-fuzz-placeholder", GITHUB_WEBHOOK_SECRET: "fuzz-secret" };

const REPLACEMENT_VALUES = ["[1, 2, 3]", "{ a: 1 }", "12345", "-1", "true", "null", '"text"', "~", "0x1F", "1e309", "[", "{", "'unterminated", "&anchor", "!!binary AAAA", "|", ">-", "${UNSET_FUZZ_VAR}", "{{ memory. }}", "-", ":", "? complex"];

type Mutation = (lines: string[], random: () => number) => string[];

const mutations: Record<string, Mutation> = {
  deleteLines(lines, random) {
    const out = [...lines];
    const count = 1 + Math.floor(random() * 3);
    for (let i = 0; i < count && out.length > 1; i++) out.splice(Math.floor(random() * out.length), 1);
    return out;
  },
  swapType(lines, random) {
    const out = [...lines];
    const candidates = out.map((line, i) => ({ line, i })).filter(({ line }) => /^\s*-?\s*[A-Za-z_][\w-]*:\s*\S/.test(line));
    for (let k = 0; k < 1 + Math.floor(random() * 2) && candidates.length > 0; k++) {
      const { line, i } = pick(random, candidates);
      out[i] = line.replace(/:\s*\S.*$/, `: ${pick(random, REPLACEMENT_VALUES)}`);
    }
    return out;
  },
  renameKey(lines, random) {
    const out = [...lines];
    const i = Math.floor(random() * out.length);
    out[i] = out[i]!.replace(/([A-Za-z_]+):/, (_m, key: string) => `${key.slice(0, -1) || "x"}${pick(random, ["s", "_", "X", "é"])}:`);
    return out;
  },
  randomBytes(lines, random) {
    const text = lines.join("\n");
    const at = Math.floor(random() * text.length);
    const bytes = Array.from({ length: 1 + Math.floor(random() * 8) }, () => String.fromCharCode(Math.floor(random() * 256)));
    return (text.slice(0, at) + bytes.join("") + text.slice(at)).split("\n");
  },
  indent(lines, random) {
    const out = [...lines];
    const i = Math.floor(random() * out.length);
    out[i] = random() < 0.5 ? `${" ".repeat(1 + Math.floor(random() * 5))}${out[i]}` : `\t${out[i]!.trimStart()}`;
    return out;
  },
  duplicateLine(lines, random) {
    const out = [...lines];
    const i = Math.floor(random() * out.length);
    out.splice(i, 0, out[i]!);
    return out;
  },
  truncate(lines, random) {
    const text = lines.join("\n");
    return text.slice(0, Math.floor(random() * text.length)).split("\n");
  },
};

/** Writes the mutated file; `randomBytes` may write bytes that are not UTF-8. */
function writeMutant(path: string, lines: string[], raw: boolean): void {
  const text = lines.join("\n");
  writeFileSync(path, raw ? Buffer.from(text, "latin1") : text);
}

describe(`forager validate on ${FILES} mutated agent files (seed ${SEED})`, () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  const files: Array<{ path: string; mutation: string }> = [];
  before(async () => {
    dir = await tempDir("forager-rel-fuzz-");
    const agentsDir = join(repoRoot, "agents");
    const sources = readdirSync(agentsDir)
      .filter((f) => f.endsWith(".yaml"))
      .sort()
      .map((f) => readFileSync(join(agentsDir, f), "utf8").split("\n"));
    const random = prng(SEED);
    const names = Object.keys(mutations).sort();
    for (let i = 0; i < FILES; i++) {
      let lines = pick(random, sources);
      const applied: string[] = [];
      for (let k = 0; k < 1 + Math.floor(random() * 3); k++) {
        const name = pick(random, names);
        lines = mutations[name]!(lines, random);
        applied.push(name);
      }
      const path = join(dir.path, `mutant-${String(i).padStart(4, "0")}.yaml`);
      writeMutant(path, lines, applied.includes("randomBytes"));
      files.push({ path, mutation: applied.join("+") });
    }
  });
  after(() => dir.cleanup());

  interface Report {
    file: string;
    valid: boolean;
    issues: Array<{ line: number; col: number; message: string; path: string }>;
  }
  const reports = new Map<string, Report>();
  const crashes: Array<{ file: string; mutation: string; code: number | null; stderr: string }> = [];
  const stackTraces: string[] = [];
  let processes = 0;

  /** Validates a batch; a batch that crashes is split until the crashing files are found. */
  async function validateBatch(batch: Array<{ path: string; mutation: string }>): Promise<void> {
    processes++;
    const result = await runCli(["validate", "--json", ...batch.map((f) => f.path)], { cwd: dir.path, env: ENV, timeoutMs: 60_000 });
    if (STACK_LINE.test(result.stderr)) stackTraces.push(`${batch[0]!.path}..: ${result.stderr.slice(0, 500)}`);
    if (result.code === 0 || result.code === 2) {
      const parsed = JSON.parse(result.stdout) as Report[];
      assert.equal(parsed.length, batch.length, "one report per file");
      for (const report of parsed) reports.set(report.file, report);
      return;
    }
    if (batch.length === 1) {
      crashes.push({ file: batch[0]!.path, mutation: batch[0]!.mutation, code: result.code, stderr: result.stderr.trim() });
      return;
    }
    const half = Math.ceil(batch.length / 2);
    await validateBatch(batch.slice(0, half));
    await validateBatch(batch.slice(half));
  }

  test("no validate process crashes (exit 0 or 2 with a report for every file)", async () => {
    const started = Date.now();
    for (let start = 0; start < files.length; start += BATCH) await validateBatch(files.slice(start, start + BATCH));
    const invalid = [...reports.values()].filter((r) => !r.valid).length;
    const issues = [...reports.values()].reduce((n, r) => n + r.issues.length, 0);
    console.log(
      `# fuzz-validate: ${FILES} files (seed ${SEED}) in ${processes} processes, ${Date.now() - started} ms: ${invalid} invalid, ` +
        `${issues} problems; ${crashes.length} files crash validate` +
        (crashes.length > 0 ? ` (first: ${crashes[0]!.file} [${crashes[0]!.mutation}] exit ${crashes[0]!.code}: ${crashes[0]!.stderr.split("\n")[0]})` : ""),
    );
    assert.deepEqual(crashes.map((c) => `${c.mutation}: exit ${c.code}: ${c.stderr.split("\n")[0]}`), []);
  });

  test("no stack trace, and every problem has a line, a column and a message", () => {
    assert.ok(reports.size + crashes.length === FILES, "every file was validated");
    assert.deepEqual(stackTraces, []);
    let invalid = 0;
    for (const source of files) {
      const report = reports.get(source.path);
      if (!report) continue;
      assert.equal(report.valid, report.issues.length === 0);
      if (!report.valid) invalid++;
      for (const issue of report.issues) {
        const where = `${source.path} (${source.mutation}): ${JSON.stringify(issue)}`;
        assert.ok(Number.isInteger(issue.line) && issue.line >= 1, `line: ${where}`);
        assert.ok(Number.isInteger(issue.col) && issue.col >= 1, `col: ${where}`);
        assert.ok(typeof issue.message === "string" && issue.message.length > 0, `message: ${where}`);
        assert.doesNotMatch(issue.message, /TypeError|RangeError|ReferenceError|Cannot read propert|undefined is not/, where);
      }
    }
    // The mutations must actually break files, or the test proves nothing.
    assert.ok(invalid > FILES / 2, `only ${invalid} of ${FILES} mutants were invalid`);
  });

  // Found by this fuzzer; kept out of the random mutations (it crashes whole batches) and tested here.
  test(
    "an unresolved YAML alias is a problem with file:line:col, and the other files are still reported",
    async () => {
      const aliasFile = join(dir.path, "alias.yaml");
      writeFileSync(aliasFile, "name: alias-agent\ndescription: *nope\ngraph:\n  nodes: []\n");
      const good = join(repoRoot, "agents", "issue-triage.yaml");
      const result = await runCli(["validate", "--json", aliasFile, good], { cwd: dir.path, env: ENV });
      assert.equal(result.code, 2, result.stderr);
      const parsed = JSON.parse(result.stdout) as Report[];
      assert.equal(parsed.length, 2);
      assert.equal(parsed[1]!.valid, true);
      const issue = parsed[0]!.issues.find((i) => /alias/i.test(i.message));
      assert.ok(issue, JSON.stringify(parsed[0]));
      assert.equal(issue.line, 2);
    },
  );

  test(
    "the human output names file:line:col for every problem and ends with a count",
    async () => {
    // Files that crash validate (a known defect) are left out here: this checks the format of the rest.
    const crashing = new Set(crashes.map((c) => c.file));
    const batch = files.filter((f) => !crashing.has(f.path)).slice(0, 200);
    const result = await runCli(["validate", ...batch.map((f) => f.path)], {
      cwd: dir.path,
      env: ENV,
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 2, result.stderr);
    assert.doesNotMatch(result.stderr, STACK_LINE);
    const lines = result.stderr.split("\n").filter((l) => l !== "");
    const summary = lines.pop()!;
    if (!/^error: /.test(summary)) console.log(`# stderr ${result.stderr.length} bytes, tail: ${JSON.stringify(result.stderr.slice(-200))}`);
    assert.match(summary, /^error: \d+ problems? in \d+ of 200 files$/);
    // A message may span lines (a YAML parser excerpt); each problem starts with its location.
    const starts = lines.filter((l) => l.startsWith(dir.path));
    const count = Number(/^error: (\d+)/.exec(summary)![1]);
    assert.equal(starts.length, count, "one located line per problem");
    for (const line of starts) assert.match(line, /^\/.+\.yaml:\d+:\d+ /);
  },
  );
});
