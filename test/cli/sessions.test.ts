import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { FileSessionStore } from "../../src/storage/sessions.js";
import { makeEvent, makeRecord, withTempDir } from "../storage/helpers.js";
import { runCli, type CliResult } from "../helpers/cli.js";

function forager(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  // The caller's FORAGER_STORAGE must not leak into tests that rely on ./storage; the log level is the caller's.
  return runCli(args, { cwd: options.cwd, env: { FORAGER_STORAGE: undefined, LOG_LEVEL: process.env.LOG_LEVEL, ...options.env }, timeoutMs: 20_000 });
}

/** ./storage under `dir` with three executions of two agents, one with events. */
async function populate(dir: string): Promise<void> {
  const store = new FileSessionStore(join(dir, "storage"));
  await store.init();
  const failed = makeRecord(2, { status: "failed", success: false, error: { code: "node_failed", message: "boom", node_id: "classify" } });
  await store.save(makeRecord(1));
  await store.save(failed);
  await store.save(makeRecord(3, { agent: "other", status: "running" }));
  await store.appendEvents("triage", failed.session_id, [
    makeEvent(failed, "execution_started", 1),
    makeEvent(failed, "node_failed", 2),
    makeEvent(failed, "execution_failed", 3),
  ]);
  await store.flush();
}

describe("forager sessions", () => {
  test("list --json: newest first with the documented fields; filters and limit", async () => {
    await withTempDir(async (dir) => {
      await populate(dir);
      const all = await forager(["sessions", "list", "--json"], { cwd: dir });
      assert.equal(all.code, 0, all.stderr);
      const rows = JSON.parse(all.stdout) as Record<string, unknown>[];
      assert.deepEqual(rows.map((r) => r.execution_id), ["exec_0003", "exec_0002", "exec_0001"]);
      for (const key of ["execution_id", "session_id", "agent", "entry_point", "status", "started_at", "finished_at"]) {
        assert.ok(key in rows[0]!, `missing ${key}`);
      }
      const failed = JSON.parse((await forager(["sessions", "list", "--json", "--status", "failed"], { cwd: dir })).stdout);
      assert.deepEqual(failed.map((r: { execution_id: string }) => r.execution_id), ["exec_0002"]);
      const limited = JSON.parse((await forager(["sessions", "list", "--json", "--limit", "1", "--agent", "triage"], { cwd: dir })).stdout);
      assert.deepEqual(limited.map((r: { execution_id: string }) => r.execution_id), ["exec_0002"]);
    });
  });

  test("list without --json prints an aligned table; storage from FORAGER_STORAGE or --storage", async () => {
    await withTempDir(async (dir) => {
      await populate(dir);
      const viaEnv = await forager(["sessions", "list"], { cwd: "/", env: { FORAGER_STORAGE: join(dir, "storage") } });
      assert.equal(viaEnv.code, 0, viaEnv.stderr);
      const lines = viaEnv.stdout.trimEnd().split("\n");
      assert.equal(lines.length, 4);
      assert.match(lines[0]!, /^EXECUTION\s+SESSION\s+AGENT\s+ENTRY POINT\s+STATUS/);
      assert.equal(lines[1]!.indexOf("running"), lines[0]!.indexOf("STATUS"));
      const viaFlag = await forager(["sessions", "list", "--storage", "storage"], { cwd: dir });
      assert.equal(viaFlag.stdout, viaEnv.stdout);
    });
  });

  test("list on empty or missing storage says so and exits 0", async () => {
    await withTempDir(async (dir) => {
      const text = await forager(["sessions", "list"], { cwd: dir });
      assert.equal(text.code, 0);
      assert.equal(text.stdout, "no executions found\n");
      const json = await forager(["sessions", "list", "--json"], { cwd: dir });
      assert.deepEqual(JSON.parse(json.stdout), []);
      assert.deepEqual(await readdir(dir), [], "listing creates no storage");
    });
  });

  test("show --json prints the result JSON with the execution's events; a session id shows its newest execution", async () => {
    await withTempDir(async (dir) => {
      await populate(dir);
      const shown = await forager(["sessions", "show", "exec_0002", "--json"], { cwd: dir });
      assert.equal(shown.code, 0, shown.stderr);
      const result = JSON.parse(shown.stdout);
      assert.equal(result.schema_version, 1);
      assert.equal(result.status, "failed");
      assert.equal(result.success, false);
      assert.deepEqual(result.error, { code: "node_failed", message: "boom", node_id: "classify" });
      assert.equal(result.duration_ms, 2000);
      for (const key of ["execution_id", "session_id", "agent", "entry_point", "output", "path", "steps_executed", "usage", "started_at", "finished_at"]) {
        assert.ok(key in result, `missing ${key}`);
      }
      assert.deepEqual(result.events.map((e: { type: string }) => e.type), ["execution_started", "node_failed", "execution_failed"]);

      const bySession = JSON.parse((await forager(["sessions", "show", "session_20260101_0001", "--json"], { cwd: dir })).stdout);
      assert.equal(bySession.execution_id, "exec_0001");
      const human = await forager(["sessions", "show", "exec_0002"], { cwd: dir });
      assert.match(human.stdout, /status\s+failed/);
      assert.match(human.stdout, /\[node_failed\] at node classify: boom/);
    });
  });

  test("show with an unknown id: one line on stderr, exit 2", async () => {
    await withTempDir(async (dir) => {
      await populate(dir);
      const missing = await forager(["sessions", "show", "exec_NOPE", "--json"], { cwd: dir });
      assert.equal(missing.code, 2);
      // --json: stdout still holds one JSON document (SPEC 1).
      assert.equal((JSON.parse(missing.stdout) as { status: string }).status, "error");
      assert.match(missing.stderr, /^error: no execution or session "exec_NOPE"/);
    });
  });

  test("prune: dry run lists, a real run removes finished sessions only; bad duration exits 2", async () => {
    await withTempDir(async (dir) => {
      await populate(dir);
      const dry = await forager(["sessions", "prune", "--older-than", "1s", "--dry-run", "--json"], { cwd: dir });
      assert.equal(dry.code, 0, dry.stderr);
      const report = JSON.parse(dry.stdout);
      assert.equal(report.dry_run, true);
      assert.deepEqual(report.removed.sort(), ["triage/session_20260101_0001", "triage/session_20260101_0002"]);
      assert.equal((await readdir(join(dir, "storage", "triage", "sessions"))).length, 2);

      // The human dry run says which list it prints (the ones to remove) and only counts the kept ones.
      const dryHuman = await forager(["sessions", "prune", "--keep", "1", "--agent", "triage", "--dry-run"], { cwd: dir });
      assert.equal(dryHuman.code, 0, dryHuman.stderr);
      assert.equal(
        dryHuman.stdout,
        "would remove 1 session (1 session kept; nothing removed yet, this is a dry run):\n  would remove  triage/session_20260101_0001\n",
      );
      assert.equal((await readdir(join(dir, "storage", "triage", "sessions"))).length, 2);

      const real = await forager(["sessions", "prune", "--keep", "1", "--agent", "triage"], { cwd: dir });
      assert.equal(real.code, 0, real.stderr);
      assert.match(real.stdout, /^removed 1 session \(1 session kept\):\n {2}removed {2}triage\/session_20260101_0001\n$/);
      const left = JSON.parse((await forager(["sessions", "list", "--json"], { cwd: dir })).stdout);
      assert.deepEqual(left.map((r: { execution_id: string }) => r.execution_id), ["exec_0003", "exec_0002"]);

      const all = await forager(["sessions", "prune", "--older-than", "1s"], { cwd: dir });
      assert.match(all.stdout, /^removed 1 session \(1 session kept\)/, "the running session stays");

      const bad = await forager(["sessions", "prune", "--older-than", "soon"], { cwd: dir });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--older-than "soon" is not a duration/);
    });
  });
});
