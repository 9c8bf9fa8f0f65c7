/**
 * Scenario 5: faulty parts under `forager run`. An LLM server that
 * answers 429, then 500, then hangs; an MCP server that dies mid-call; a
 * shell tool that ignores SIGTERM; a full disk; function nodes that never
 * return. Each ends with a clear failure in bounded time and leaves no
 * process behind.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { randomInt, randomUUID } from "node:crypto";
// Faults are the process's own business (a crashing MCP server, a spinning
// function, a full disk): each command runs as bin/forager.js in a process of its own.
import { processesMatching, spawnCli as runCli, STACK_LINE, tempDir } from "../helpers/cli.js";
import { startFakeLlmServer } from "../llm/fake-llm-server.js";
import { auditStorage, FIXTURES, recordsOnDisk, walkFiles } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";

const fixture = (name: string) => join(FIXTURES, name);

describe("faulty parts under forager run", () => {
  test("an LLM server that answers 429, then 500, then hangs: retried, then a clear failure within the call timeout", async () => {
    const dir = await tempDir("forager-rel-llm-");
    const server = await startFakeLlmServer();
    try {
      server.reply(
        { status: 429, headers: { "retry-after": "0" }, error: { type: "rate_limit_error", message: "slow down" } },
        { status: 500, error: { type: "server_error", message: "upstream broke" } },
        { text: "too late", delay_ms: 60_000 },
      );
      const result = await runCli(["run", fixture("llm-flaky.yaml"), "--input", '{"question":"why"}', "--json", "--storage", dir.path], {
        env: { LLM_BASE_URL: server.baseUrl, LLM_API_KEY: "sk-reliability-llm-key-123" },
        timeoutMs: 30_000,
      });
      assert.equal(result.code, 1, result.stderr);
      assert.equal(server.requests.length, 3, "one call and two retries");
      const out = JSON.parse(result.stdout);
      assert.equal(out.status, "failed");
      assert.match(out.error.message, /tim(ed|e) ?out/i, out.error.message);
      // 2 s per call; the two quick failures and their backoff add a few
      // seconds at most. The execution's own duration, not the process's:
      // starting Node on a loaded machine is not what this bounds.
      assert.ok(out.duration_ms < 12_000, `took ${out.duration_ms} ms`);
      assert.equal(result.stderr.trim().split("\n").filter((l) => l.startsWith("error:")).length, 1, "one error line");
      assert.doesNotMatch(result.stderr, STACK_LINE);
    } finally {
      await server.close();
      await dir.cleanup();
    }
  });

  test("an MCP server that crashes mid-call fails the node with a clear error, no process left", async () => {
    const dir = await tempDir("forager-rel-mcp-");
    try {
      // Tagged, so the check below sees this run's server and not one of another suite running beside it.
      const tag = `crash-${randomUUID()}`;
      const result = await runCli(["run", fixture("mcp-crash.yaml"), "--json", "--storage", dir.path], { timeoutMs: 20_000, env: { FORAGER_TEST_TAG: tag } });
      assert.equal(result.code, 1, result.stderr);
      const out = JSON.parse(result.stdout);
      assert.equal(out.status, "failed");
      assert.equal(out.error.node_id, "call");
      assert.match(out.error.message, /MCP server "crashy"/);
      assert.doesNotMatch(result.stderr, STACK_LINE);
      assert.deepEqual(processesMatching(`crash-server.mjs ${tag}`), []);
    } finally {
      await dir.cleanup();
    }
  });

  test("a shell tool that ignores SIGTERM is killed after a grace, and nothing is left running", async () => {
    const dir = await tempDir("forager-rel-shell-");
    try {
      // A length no other run uses, so the check below finds this run's sleep only.
      const seconds = `31.${randomInt(100_000, 999_999)}`;
      const result = await runCli(["run", fixture("shell-stubborn.yaml"), "--json", "--storage", dir.path, "--input", JSON.stringify({ seconds })], { timeoutMs: 20_000 });
      assert.equal(result.code, 1, result.stderr);
      const out = JSON.parse(result.stdout);
      assert.match(out.error.message, /timed out after 1s/);
      assert.ok(out.duration_ms < 10_000, `took ${out.duration_ms} ms for a 1 s timeout`);
      await waitFor("the sleep that ignored SIGTERM to be killed", () => processesMatching(seconds).length === 0, { timeoutMs: 5_000 });
    } finally {
      await dir.cleanup();
    }
  });

  test("a full disk: a clear error naming the problem, no partial or temp files", async (t) => {
    const dir = await tempDir("forager-rel-disk-");
    const mount = join(dir.path, "small");
    mkdirSync(mount);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mount], { stdio: "ignore" });
    } catch (err) {
      t.skip(`cannot mount a 64 KiB tmpfs here (${(err as Error).message.split("\n")[0]}); not root or no mount permission`);
      await dir.cleanup();
      return;
    }
    try {
      const result = await runCli(["run", fixture("big-output.yaml"), "--input", '{"bytes": 200000}', "--json", "--storage", mount], { timeoutMs: 20_000 });
      assert.notEqual(result.code, 0, "a run whose results cannot be stored does not succeed");
      assert.doesNotMatch(result.stderr, STACK_LINE);
      const errorLine = result.stderr.trim().split("\n").filter((l) => l.startsWith("error:"));
      assert.equal(errorLine.length, 1, result.stderr);
      assert.match(errorLine[0]!, /no space|ENOSPC|disk.*full/i, "the error says the disk is full");
      const audit = auditStorage(mount);
      assert.deepEqual(audit.tempFiles, [], "no temp files left");
      assert.deepEqual(audit.corrupt, [], `no partial files: ${walkFiles(mount).join(", ")}`);
    } finally {
      execFileSync("umount", [mount]);
      await dir.cleanup();
    }
  });

  test("an async function node that never ends is stopped by its timeout_seconds", async () => {
    const dir = await tempDir("forager-rel-spin-async-");
    try {
      const result = await runCli(["run", fixture("spin.yaml"), "--json", "--storage", dir.path], { env: { SPIN_EXPORT: "spinAsync" }, timeoutMs: 20_000 });
      assert.equal(result.code, 1, result.stderr);
      const out = JSON.parse(result.stdout);
      assert.match(out.error.message, /timed out after 1s/);
      // 1 s timeout, then 1 s kill grace (the loop ignores its signal, so its worker is terminated).
      assert.ok(out.duration_ms >= 2000 && out.duration_ms < 15_000, `took ${out.duration_ms} ms`);
    } finally {
      await dir.cleanup();
    }
  });

  // A synchronous loop runs in a function worker thread (SPEC 3.2): the
  // timeout aborts it, its worker is terminated after the kill grace, and
  // `run` reports the timeout like any other (exit 124), session recorded.
  test("a synchronous infinite loop in a function node: `run --timeout 2` ends timed_out, exit 124, session recorded", async () => {
    const dir = await tempDir("forager-rel-spin-");
    try {
      const result = await runCli(["run", fixture("spin.yaml"), "--timeout", "2", "--json", "--storage", dir.path], {
        env: { SPIN_NODE_TIMEOUT: "60" },
        timeoutMs: 30_000,
      });
      assert.equal(result.code, 124, result.stderr);
      const output = JSON.parse(result.stdout);
      assert.equal(output.status, "timed_out");
      assert.equal(output.error.node_id, "loop");
      assert.doesNotMatch(result.stderr, STACK_LINE);
      // 2 s timeout, then the function's 1 s kill grace.
      assert.ok(output.duration_ms >= 2000 && output.duration_ms < 20_000, `took ${output.duration_ms} ms`);
      const onDisk = [...recordsOnDisk(dir.path).values()];
      assert.deepEqual(onDisk.map((r) => r.status), ["timed_out"]);
    } finally {
      await dir.cleanup();
    }
  });
});
