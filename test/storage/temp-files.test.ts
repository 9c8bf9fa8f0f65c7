import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FileSessionStore } from "../../src/storage/sessions.js";
import { isStaleTempName } from "../../src/storage/temp-files.js";
import { makeRecord, withTempDir } from "./helpers.js";

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

test("only writeFileAtomic's temp names of processes that are gone are stale", () => {
  const alive = (pid: number) => pid === 4242;
  assert.equal(isStaleTempName(".state.json.999.3.tmp", alive), true);
  assert.equal(isStaleTempName(".state.json.4242.3.tmp", alive), false, "its writer still runs");
  assert.equal(isStaleTempName(`.state.json.${process.pid}.3.tmp`, alive), false, "ours, in flight");
  for (const name of ["state.json.999.3.tmp", ".notes.tmp", ".x.999.tmp", "report.tmp", ".state.json.999.3.tmp.bak"]) {
    assert.equal(isStaleTempName(name, alive), false, name);
  }
});

for (const sweepSessionFolders of [true, false]) {
  test(`leftover temp files are removed at start, a live writer's and other files kept (sweepSessionFolders: ${sweepSessionFolders})`, () =>
    withTempDir(async (dir) => {
      const dead = deadPid();
      const live = process.ppid;
      const first = new FileSessionStore(dir);
      const done = makeRecord(1);
      const running = makeRecord(2, { status: "running" });
      await first.save(done);
      await first.save(running);
      await first.flush();
      const doneDir = first.sessionDir("triage", done.session_id);
      const runningDir = first.sessionDir("triage", running.session_id);
      await mkdir(join(dir, "_keys"), { recursive: true });
      const stale = [
        join(dir, `.serve.json.${dead}.1.tmp`),
        join(dir, "_keys", `.webhook-deliveries.jsonl.${dead}.7.tmp`),
        join(dir, "triage", `.state.json.${dead}.2.tmp`),
        join(runningDir, `.${running.execution_id}.json.${dead}.9.tmp`),
      ];
      const kept = [
        join(dir, "triage", `.index.jsonl.${live}.1.tmp`),
        join(doneDir, "notes.tmp"),
        join(dir, "triage", "user.1.2.tmp"),
      ];
      const inDoneSession = join(doneDir, `.session.json.${dead}.4.tmp`);
      for (const path of [...stale, ...kept, inDoneSession]) await writeFile(path, "{half");

      const store = new FileSessionStore(dir, { sweepSessionFolders });
      await store.init();
      const left = new Set<string>();
      for (const folder of [dir, join(dir, "_keys"), join(dir, "triage"), doneDir, runningDir]) {
        for (const name of await readdir(folder)) left.add(join(folder, name));
      }
      for (const path of stale) assert.ok(!left.has(path), `${path} removed`);
      for (const path of kept) assert.ok(left.has(path), `${path} kept`);
      // A folder nothing else visits is swept only by the full sweep (serve).
      assert.equal(left.has(inDoneSession), !sweepSessionFolders);
    }));
}
