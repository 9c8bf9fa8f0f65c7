// A failed run is reported once (SPEC 1): the summary on stdout, one error
// line on stderr, no warning lines repeating it, no message repeating itself.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";

const BOOM = `name: boom
tools:
  boom:
    type: shell
    command: ["sh", "-c", "echo oops >&2; exit 3"]
graph:
  nodes:
    - { id: call, type: tool, tool: boom }
`;

let dir: { path: string; cleanup: () => Promise<void> };
before(async () => {
  dir = await tempDir("forager-failure-");
  await writeFile(join(dir.path, "boom.yaml"), BOOM);
});
after(() => dir.cleanup());

describe("a failing run", () => {
  test("stderr holds one error line; the message names the tool once and the node once", async () => {
    const r = await runCli(["run", "boom.yaml", "--storage", join(dir.path, "s")], { cwd: dir.path, env: { LOG_LEVEL: "info" } });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: execution failed at node call: tool "boom": sh failed with exit code 3: oops\n');
    assert.match(r.stdout, /^✘ failed boom\/default in \d+(ms|\.\d\ds) \(1 step\)$/m);
    assert.match(r.stdout, /^ {2}error \[node_failed\] at node call: tool "boom": sh failed with exit code 3: oops$/m);
    assert.match(r.stdout, /^ {2}usage: 0 LLM calls, 1 tool call, 0 in \/ 0 out tokens$/m);
    assert.doesNotMatch(r.stdout + r.stderr, /tool "boom" failed: tool "boom"|node "call" failed/);
  });

  test("--timeout: the final line says timed out, not timed_out", async () => {
    await writeFile(join(dir.path, "slow.yaml"), BOOM.replace('"echo oops >&2; exit 3"', '"sleep 5"'));
    const r = await runCli(["run", "slow.yaml", "--timeout", "0.5", "--storage", join(dir.path, "s")], { cwd: dir.path });
    assert.equal(r.code, 124);
    assert.match(r.stderr, /^error: execution timed out/m);
    assert.match(r.stderr, /--timeout/);
    assert.doesNotMatch(r.stderr, /timed_out|limits\.timeout_seconds/);
    assert.match(r.stdout, /^✘ timed out boom\/default/m);
  });
});

describe("--input mistakes", () => {
  test("a folder and bad inline JSON: one clear line each, --input named once", async () => {
    const folder = await runCli(["run", "boom.yaml", "--input", "@/tmp"], { cwd: dir.path });
    assert.equal(folder.code, 2);
    assert.equal(folder.stderr, "error: --input @/tmp: cannot read it: it is a folder, not a JSON file\n");
    const bad = await runCli(["run", "boom.yaml", "--input", "{x"], { cwd: dir.path });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: --input is not valid JSON \(/);
    assert.equal(bad.stderr.match(/--input/g)?.length, 2, "once in the error, once in the hint's example");
  });
});
