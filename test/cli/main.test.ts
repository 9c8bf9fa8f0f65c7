// The CLI boundary: help, version, usage errors and their exit codes.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { STACK_LINE, repoRoot, runCli } from "../helpers/cli.js";

const version = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }).version;

describe("forager CLI", () => {
  test("--help lists every command on stdout, exit 0", async () => {
    const r = await runCli(["--help"], { spawn: true });
    assert.equal(r.code, 0);
    for (const command of ["run", "serve", "trigger", "stats", "pause-timers", "resume-timers", "validate", "schema", "graph", "sessions"]) {
      assert.match(r.stdout, new RegExp(`^\\s+${command}\\b`, "m"), `missing ${command}`);
    }
  });

  test("--version prints the package version", async () => {
    const r = await runCli(["--version"], { spawn: true });
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), version);
  });

  test("an unknown command or flag is a usage error: exit 2, one message, no stack trace", async () => {
    for (const args of [["frobnicate"], ["run"], ["run", "x.yaml", "--bogus"], ["--log-level", "loud", "schema"]]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /error/i);
      assert.doesNotMatch(r.stderr, STACK_LINE);
      assert.equal(r.stdout, "");
    }
  });

  test("no command prints help on stderr and exits 2", async () => {
    const r = await runCli([], { spawn: true });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage: forager/);
  });

  test("--verbose adds the stack trace to an error; without it there is none", async () => {
    const missing = join(repoRoot, "test/fixtures/does-not-exist.yaml");
    const quiet = await runCli(["run", missing]);
    assert.equal(quiet.code, 2);
    assert.doesNotMatch(quiet.stderr, STACK_LINE);
    assert.equal(quiet.stderr.trim().split("\n").length <= 2, true, quiet.stderr);
    const verbose = await runCli(["--verbose", "run", missing]);
    assert.equal(verbose.code, 2);
    assert.match(verbose.stderr, STACK_LINE);
  });
});
