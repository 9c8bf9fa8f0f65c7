import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { FileSessionStore } from "../../src/storage/sessions.js";
import { MemorySessionStore } from "../../src/storage/memory.js";
import type { SessionStore } from "../../src/storage/types.js";
import { FakeClock } from "../../src/util/clock.js";
import { makeEvent, makeRecord, minuteMs, withTempDir } from "./helpers.js";
import { sessionStoreContract } from "./session-contract.js";

type Make = (dir: string, clock: FakeClock) => SessionStore;

const stores: [string, Make][] = [
  ["FileSessionStore", (dir, clock) => new FileSessionStore(dir, { clock })],
  ["MemorySessionStore", (_dir, clock) => new MemorySessionStore({ clock })],
];

for (const [name, make] of stores) sessionStoreContract(name, make);

describe("FileSessionStore on disk", () => {
  test("init marks running and queued records interrupted, keeps the input, and logs an event", async () => {
    await withTempDir(async (dir) => {
      const before = new FileSessionStore(dir, { clock: new FakeClock(minuteMs(1)) });
      await before.init();
      await before.save(makeRecord(1, { status: "running" }));
      await before.save(makeRecord(2, { status: "queued" }));
      await before.save(makeRecord(3));
      await before.appendEvents("triage", "session_20260101_0001", [makeEvent(makeRecord(1), "node_started", 1)]);
      await before.flush();

      // A new process after a crash.
      const after = new FileSessionStore(dir, { clock: new FakeClock(minuteMs(10)) });
      const interrupted = await after.init();
      assert.deepEqual(interrupted.map((r) => r.execution_id).sort(), ["exec_0001", "exec_0002"]);

      const running = await after.get("exec_0001");
      assert.equal(running?.status, "interrupted");
      assert.equal(running?.success, false);
      assert.deepEqual(running?.error, { code: "interrupted", message: "the process ended while the execution was running", node_id: null });
      assert.equal(running?.finished_at, new Date(minuteMs(10)).toISOString());
      assert.deepEqual(running?.input, { query: "q1" });
      const queued = await after.get("exec_0002");
      assert.equal(queued?.error?.message, "the process ended before the execution started");
      assert.equal((await after.get("exec_0003"))?.status, "completed");

      const events = await after.readEvents("triage", "session_20260101_0001");
      assert.deepEqual(events.map((e) => e.type), ["node_started", "execution_failed"]);
      assert.equal(events[1]!.data.status, "interrupted");
      assert.equal(events[1]!.execution_id, "exec_0001");

      const status = JSON.parse(await readFile(join(dir, "triage", "sessions", "session_20260101_0001", "session.json"), "utf8"));
      assert.equal(status.status, "interrupted");
      assert.deepEqual(await new FileSessionStore(dir).init(), [], "a second start finds nothing left running");
    });
  });

  test("one folder per session: record per execution, session.json shows the newest, events.jsonl", async () => {
    await withTempDir(async (dir) => {
      const store = new FileSessionStore(dir);
      await store.init();
      const first = makeRecord(1, { status: "cancelled", success: false });
      const second = makeRecord(2, { session_id: first.session_id, status: "running" });
      await store.save(second);
      // The cancelled one is written after the new one started: it must not take over session.json.
      await store.save(first);
      await store.appendEvents("triage", first.session_id, [makeEvent(second, "node_started", 1)]);
      await store.flush();
      const folder = join(dir, "triage", "sessions", first.session_id);
      assert.deepEqual((await readdir(folder)).sort(), ["events.jsonl", "exec_0001.json", "exec_0002.json", "session.json"]);
      const status = JSON.parse(await readFile(join(folder, "session.json"), "utf8"));
      assert.equal(status.latest_execution_id, "exec_0002");
      assert.equal(status.status, "running");
      const lines = (await readFile(join(folder, "events.jsonl"), "utf8")).trim().split("\n");
      assert.equal(JSON.parse(lines[0]!).type, "node_started");
    });
  });

  test("sees records another process wrote, and rebuilds a lost index from the records", async () => {
    await withTempDir(async (dir) => {
      const reader = new FileSessionStore(dir);
      await reader.init();
      assert.deepEqual(await reader.list(), []);
      const writer = new FileSessionStore(dir);
      await writer.save(makeRecord(1));
      await writer.save(makeRecord(2));
      assert.equal((await reader.get("exec_0002"))?.execution_id, "exec_0002");
      assert.equal((await reader.list()).length, 2);

      await rm(join(dir, "triage", "index.jsonl"));
      const fresh = new FileSessionStore(dir);
      assert.deepEqual((await fresh.list()).map((s) => s.execution_id), ["exec_0002", "exec_0001"]);
      assert.equal((await fresh.get("exec_0001"))?.status, "completed");
    });
  });

  test("pruning removes the session folder from disk", async () => {
    await withTempDir(async (dir) => {
      const store = new FileSessionStore(dir, { clock: new FakeClock(minuteMs(60)) });
      await store.save(makeRecord(1));
      await store.save(makeRecord(2));
      await store.prune({ keep: 1 });
      assert.deepEqual(await readdir(join(dir, "triage", "sessions")), ["session_20260101_0002"]);
      const again = new FileSessionStore(dir);
      assert.deepEqual((await again.list()).map((s) => s.execution_id), ["exec_0002"]);
    });
  });

  test("an index another process rewrote (a prune) gets the next lines: the kept-open file is not the replaced one", async () => {
    await withTempDir(async (dir) => {
      const writer = new FileSessionStore(dir, { clock: new FakeClock(minuteMs(60)) });
      await writer.save(makeRecord(1));
      await writer.save(makeRecord(2));
      // Another process prunes: its index rewrite renames a new file over the one the writer holds open.
      await new FileSessionStore(dir, { clock: new FakeClock(minuteMs(60)) }).prune({ keep: 1 });
      await writer.save(makeRecord(3, { status: "running" }));
      await writer.save(makeRecord(3));
      await writer.flush();
      const lines = (await readFile(join(dir, "triage", "index.jsonl"), "utf8")).trim().split("\n");
      assert.deepEqual(
        lines.map((line) => JSON.parse(line).execution_id),
        ["exec_0002", "exec_0003", "exec_0003"],
      );
      // A new process lists from the index alone (every session in it is known, no rescan adds them).
      assert.deepEqual((await new FileSessionStore(dir).list()).map((s) => [s.execution_id, s.status]), [
        ["exec_0003", "completed"],
        ["exec_0002", "completed"],
      ]);
    });
  });

  test("a missing storage folder lists nothing and creates nothing", async () => {
    await withTempDir(async (dir) => {
      const store = new FileSessionStore(join(dir, "absent"));
      assert.deepEqual(await store.list(), []);
      assert.equal(await store.get("exec_1"), undefined);
      assert.deepEqual(await readdir(dir), []);
    });
  });
});
