/**
 * What every SessionStore promises (storage/types.ts), run against each
 * implementation: the file and memory stores here, the Redis store in
 * redis-sessions.test.ts. `make` gets a fresh temp folder and a fake clock
 * per test.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { applyRetention } from "../../src/storage/retention.js";
import type { SessionStore } from "../../src/storage/types.js";
import { FakeClock } from "../../src/util/clock.js";
import { makeEvent, makeRecord, minuteMs, withTempDir } from "./helpers.js";

export type MakeSessionStore = (dir: string, clock: FakeClock) => SessionStore;

export function sessionStoreContract(name: string, make: MakeSessionStore, options: { skip?: string | false } = {}): void {
  describe(`${name}: shared behaviour`, { skip: options.skip }, () => {
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
