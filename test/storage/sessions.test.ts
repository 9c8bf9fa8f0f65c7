import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { FileSessionStore } from "../../src/storage/sessions.js";
import { MemorySessionStore } from "../../src/storage/memory.js";
import { applyRetention } from "../../src/storage/retention.js";
import type { SessionStore } from "../../src/storage/types.js";
import { FakeClock } from "../../src/util/clock.js";
import { makeEvent, makeRecord, minuteMs, withTempDir } from "./helpers.js";

type Make = (dir: string, clock: FakeClock) => SessionStore;

const stores: [string, Make][] = [
  ["FileSessionStore", (dir, clock) => new FileSessionStore(dir, { clock })],
  ["MemorySessionStore", (_dir, clock) => new MemorySessionStore({ clock })],
];

for (const [name, make] of stores) {
  describe(`${name}: shared behaviour`, () => {
    test("save, get and list: newest first, limit, agent and status filters", async () => {
      await withTempDir(async (dir) => {
        const store = make(dir, new FakeClock(minuteMs(100)));
        await store.init();
        await store.save(makeRecord(1));
        await store.save(makeRecord(3, { status: "failed", success: false }));
        await store.save(makeRecord(2, { agent: "other" }));
        await store.save(makeRecord(4, { status: "running" }));

        const got = await store.get("exec_0003");
        assert.equal(got?.status, "failed");
        assert.deepEqual(got?.input, { query: "q3" });
        assert.equal(await store.get("exec_9999"), undefined);

        const all = await store.list();
        assert.deepEqual(
          all.map((s) => s.execution_id),
          ["exec_0004", "exec_0003", "exec_0002", "exec_0001"],
        );
        assert.deepEqual(Object.keys(all[0]!).sort(), [
          "agent", "entry_point", "execution_id", "finished_at", "queued_at", "session_id", "started_at", "status",
        ]);
        assert.deepEqual((await store.list({ limit: 2 })).map((s) => s.execution_id), ["exec_0004", "exec_0003"]);
        assert.deepEqual((await store.list({ agent: "other" })).map((s) => s.execution_id), ["exec_0002"]);
        assert.deepEqual((await store.list({ status: "failed" })).map((s) => s.execution_id), ["exec_0003"]);
      });
    });

    test("a later save of the same execution replaces the record", async () => {
      await withTempDir(async (dir) => {
        const store = make(dir, new FakeClock(minuteMs(100)));
        await store.init();
        // Not awaited one by one: the last save must still win.
        await Promise.all([
          store.save(makeRecord(1, { status: "queued" })),
          store.save(makeRecord(1, { status: "running" })),
          store.save(makeRecord(1, { status: "completed" })),
        ]);
        assert.equal((await store.get("exec_0001"))?.status, "completed");
        assert.deepEqual((await store.list()).map((s) => s.status), ["completed"]);
      });
    });

    test("events come back in order, per execution on request", async () => {
      await withTempDir(async (dir) => {
        const store = make(dir, new FakeClock(minuteMs(100)));
        await store.init();
        const first = makeRecord(1);
        const second = makeRecord(2, { session_id: first.session_id });
        const writes: Promise<void>[] = [];
        for (let n = 0; n < 50; n++) {
          const owner = n % 3 === 0 ? second : first;
          writes.push(store.appendEvents("triage", first.session_id, [makeEvent(owner, "node_completed", n)]));
        }
        await store.flush();
        await Promise.all(writes);
        const all = await store.readEvents("triage", first.session_id);
        assert.deepEqual(all.map((e) => e.data.n), Array.from({ length: 50 }, (_, n) => n));
        const onlySecond = await store.readEvents("triage", first.session_id, second.execution_id);
        assert.equal(onlySecond.length, 17);
        assert.ok(onlySecond.every((e) => e.execution_id === second.execution_id));
        assert.deepEqual(await store.readEvents("triage", "session_unknown"), []);
      });
    });

    test("prune: keep, older-than and dry-run; running sessions are never removed", async () => {
      await withTempDir(async (dir) => {
        const clock = new FakeClock(minuteMs(60));
        const store = make(dir, clock);
        await store.init();
        for (let m = 1; m <= 5; m++) await store.save(makeRecord(m));
        await store.save(makeRecord(0, { status: "running" }));
        await store.save(makeRecord(6, { agent: "other" }));

        const dry = await store.prune({ keep: 2, dryRun: true, agent: "triage" });
        assert.equal(dry.dry_run, true);
        assert.deepEqual(dry.removed.sort(), [
          "triage/session_20260101_0001",
          "triage/session_20260101_0002",
          "triage/session_20260101_0003",
        ]);
        assert.equal((await store.list()).length, 7, "a dry run removes nothing");

        const kept = await store.prune({ keep: 2 });
        assert.equal(kept.removed.length, 3);
        assert.deepEqual((await store.list()).map((s) => s.execution_id), ["exec_0006", "exec_0005", "exec_0004", "exec_0000"]);
        assert.equal(await store.get("exec_0001"), undefined);

        // Now 60 min: exec_0004 finished at 4 min + 2 s, exec_0005 at 5 min + 2 s.
        const old = await store.prune({ olderThanSeconds: 55 * 60 + 30 });
        assert.deepEqual(old.removed, ["triage/session_20260101_0004"]);
        clock.set(minuteMs(10_000));
        const everything = await store.prune({ olderThanSeconds: 1 });
        assert.deepEqual(everything.removed.sort(), ["other/session_20260101_0006", "triage/session_20260101_0005"]);
        assert.deepEqual((await store.list()).map((s) => s.execution_id), ["exec_0000"]);
        assert.equal((await store.get("exec_0000"))?.status, "running");
      });
    });

    test("applyRetention prunes by max_age and max_sessions, and does nothing without a policy", async () => {
      await withTempDir(async (dir) => {
        const clock = new FakeClock(minuteMs(30));
        const store = make(dir, clock);
        await store.init();
        for (let m = 1; m <= 4; m++) await store.save(makeRecord(m));
        assert.deepEqual((await applyRetention(store, undefined)).removed, []);
        assert.equal((await applyRetention(store, { max_sessions: 3 })).removed.length, 1);
        assert.deepEqual((await applyRetention(store, { max_age: 27 * 60 })).removed, ["triage/session_20260101_0002"]);
        assert.deepEqual((await store.list()).map((s) => s.execution_id), ["exec_0004", "exec_0003"]);
      });
    });
  });
}

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
