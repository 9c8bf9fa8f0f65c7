import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RedisLink, RedisUnavailableError } from "../../src/storage/redis/connection.js";
import { RedisSessionStore } from "../../src/storage/redis/sessions.js";
import { FakeClock } from "../../src/util/clock.js";
import { redisSkip, startRedis, useRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait.js";
import { makeEvent, makeRecord, minuteMs } from "./helpers.js";
import { sessionStoreContract } from "./session-contract.js";

const skip = redisSkip();
// One server for the whole file: the contract suite and the tests below.
const { link, prefix } = useRedis({ label: "sess" });

// The same assertions as the file and memory stores, each test under its own prefix.
sessionStoreContract("RedisSessionStore", (_dir, clock) => new RedisSessionStore(link(prefix()), { clock }), { skip });

describe("RedisSessionStore in Redis", { skip }, () => {
  test("keys as DISTRIBUTED.md 5: the record, the indexes by queued_at, the open index, the event list", async () => {
    const p = prefix();
    const store = new RedisSessionStore(link(p));
    const client = await link(p).commands();
    const running = makeRecord(1, { status: "running" });
    await store.save(running);
    await store.appendEvents("triage", running.session_id, [makeEvent(running, "execution_started", 1)]);
    assert.deepEqual(JSON.parse((await client.get(`${p}:exec:exec_0001`))!), running);
    assert.equal(Number(await client.zscore(`${p}:idx:triage`, "exec_0001")), minuteMs(1));
    assert.equal(Number(await client.zscore(`${p}:idx:_all`, "exec_0001")), minuteMs(1));
    assert.equal(await client.zscore(`${p}:idx:triage:open`, "exec_0001") !== null, true);
    assert.equal(await client.llen(`${p}:ev:triage:${running.session_id}`), 1);

    await store.save({ ...running, status: "completed", finished_at: running.started_at });
    assert.equal(await client.zscore(`${p}:idx:triage:open`, "exec_0001"), null, "finished: out of the open index");
    assert.deepEqual((await store.list({ status: "running" })).map((s) => s.execution_id), []);
    assert.deepEqual((await store.list({ status: "completed" })).map((s) => s.execution_id), ["exec_0001"]);
  });

  test("another process sees what one wrote, and init marks nothing interrupted (another node may run it)", async () => {
    const p = prefix();
    const writer = new RedisSessionStore(link(p));
    await writer.save(makeRecord(1, { status: "running" }));
    await writer.save(makeRecord(2, { status: "queued" }));
    const reader = new RedisSessionStore(link(p));
    assert.deepEqual(await reader.init(), []);
    assert.equal((await reader.get("exec_0001"))?.status, "running");
    assert.deepEqual((await reader.list({ status: "queued" })).map((s) => s.execution_id), ["exec_0002"]);
  });

  test("list pages through more than one MGET page, newest first, with limit and filters", async () => {
    const p = prefix();
    const store = new RedisSessionStore(link(p));
    await Promise.all(
      Array.from({ length: 250 }, (_, m) => store.save(makeRecord(m, m % 5 === 0 ? { status: "failed", success: false } : m % 7 === 0 ? { agent: "other" } : {}))),
    );
    const all = await store.list();
    assert.equal(all.length, 250);
    assert.equal(all[0]!.execution_id, "exec_0249");
    assert.equal(all[249]!.execution_id, "exec_0000");
    const failed = await store.list({ status: "failed" });
    assert.equal(failed.length, 50);
    assert.ok(failed.every((s) => s.status === "failed"));
    assert.deepEqual((await store.list({ status: "failed", limit: 3 })).map((s) => s.execution_id), ["exec_0245", "exec_0240", "exec_0235"]);
    const other = await store.list({ agent: "other", limit: 1000 });
    assert.ok(other.length > 20 && other.every((s) => s.agent === "other"));
    assert.deepEqual(await store.list({ limit: 0 }), []);
    assert.deepEqual(await store.list({ agent: "../bad" }), []);
  });

  test("a finished record and its session's events expire after max_age; readers drop the expired ids from the indexes", async () => {
    const p = prefix();
    const store = new RedisSessionStore(link(p), { maxAgeSeconds: 1 });
    const client = await link(p).commands();
    const running = makeRecord(1, { status: "running" });
    const keep = makeRecord(2, { status: "running" });
    await store.save(running);
    await store.save(keep);
    await store.appendEvents("triage", running.session_id, [makeEvent(running, "execution_started", 1)]);
    assert.equal(await client.ttl(`${p}:exec:exec_0001`), -1, "no TTL while unfinished");
    assert.equal(await client.ttl(`${p}:ev:triage:${running.session_id}`), -1);

    await store.save({ ...running, status: "completed" });
    await store.appendEvents("triage", running.session_id, [makeEvent(running, "execution_completed", 2)]);
    const ttl = await client.pttl(`${p}:exec:exec_0001`);
    assert.ok(ttl > 0 && ttl <= 1000, `record TTL ${ttl}`);
    assert.ok((await client.pttl(`${p}:ev:triage:${running.session_id}`)) > 0, "event list TTL once finished");

    await waitFor("the finished record to expire", async () => (await store.get("exec_0001")) === undefined, { timeoutMs: 10_000, stepMs: 50 });
    // The list's TTL was renewed by the final event's append, a moment after the record's.
    await waitFor("the session's events to expire", async () => (await store.readEvents("triage", running.session_id)).length === 0, {
      timeoutMs: 10_000,
      stepMs: 50,
    });
    assert.deepEqual((await store.list()).map((s) => s.execution_id), ["exec_0002"]);
    assert.equal(await client.zscore(`${p}:idx:_all`, "exec_0001"), null, "the expired id left the index it was read from");
    assert.deepEqual((await store.list({ agent: "triage" })).map((s) => s.execution_id), ["exec_0002"]);
    assert.equal(await client.zscore(`${p}:idx:triage`, "exec_0001"), null);
    assert.equal((await store.get("exec_0002"))?.status, "running", "an unfinished record never expires");
  });

  test("a new execution in a finished session keeps the session's events alive", async () => {
    const p = prefix();
    const store = new RedisSessionStore(link(p), { maxAgeSeconds: 60 });
    const client = await link(p).commands();
    const first = makeRecord(1);
    await store.save(first);
    await store.appendEvents("triage", first.session_id, [makeEvent(first, "execution_completed", 1)]);
    assert.ok((await client.ttl(`${p}:ev:triage:${first.session_id}`)) > 0);
    await store.save(makeRecord(2, { session_id: first.session_id, status: "running" }));
    assert.equal(await client.ttl(`${p}:ev:triage:${first.session_id}`), -1);
  });

  test("prune removes records, index entries and event lists of the sessions it names", async () => {
    const p = prefix();
    const clock = new FakeClock(minuteMs(60));
    const store = new RedisSessionStore(link(p), { clock });
    const client = await link(p).commands();
    for (let m = 1; m <= 3; m++) {
      const record = makeRecord(m);
      await store.save(record);
      await store.appendEvents("triage", record.session_id, [makeEvent(record, "execution_completed", m)]);
    }
    const report = await store.prune({ keep: 1 });
    assert.deepEqual(report.removed.sort(), ["triage/session_20260101_0001", "triage/session_20260101_0002"]);
    for (const m of ["0001", "0002"]) {
      assert.equal(await client.exists(`${p}:exec:exec_${m}`, `${p}:ev:triage:session_20260101_${m}`), 0);
      assert.equal(await client.zscore(`${p}:idx:triage`, `exec_${m}`), null);
      assert.equal(await client.zscore(`${p}:idx:_all`, `exec_${m}`), null);
    }
    assert.equal(await client.llen(`${p}:ev:triage:session_20260101_0003`), 1);
  });

  test("Redis killed: calls reject with redis_unavailable quickly; after a restart they work again", async () => {
    // A server of its own, every write on disk before its reply (under everysec a busy machine may postpone the AOF write past a SIGKILL).
    const own = await startRedis(["--appendfsync", "always"]);
    const ownLink = new RedisLink({ url: own.url, prefix: prefix() });
    try {
      const store = new RedisSessionStore(ownLink);
      await store.save(makeRecord(1));
      await own.kill();
      const calls: [string, () => Promise<unknown>][] = [
        ["save", () => store.save(makeRecord(2))],
        ["appendEvents", () => store.appendEvents("triage", "session_x", [makeEvent(makeRecord(2), "node_started", 1)])],
        ["get", () => store.get("exec_0001")],
        ["list", () => store.list()],
        ["readEvents", () => store.readEvents("triage", "session_x")],
        ["prune", () => store.prune({ keep: 0 })],
      ];
      for (const [name, call] of calls) {
        const started = Date.now();
        await assert.rejects(call(), (err: unknown) => err instanceof RedisUnavailableError && err.code === "redis_unavailable", name);
        assert.ok(Date.now() - started < 6_000, `${name} failed fast (${Date.now() - started} ms)`);
      }
      await store.flush();
      await own.restart();
      const record = await waitFor("the store to work again", () => store.get("exec_0001").catch(() => undefined), { timeoutMs: 15_000, stepMs: 50 });
      assert.equal(record.status, "completed");
      await store.save(makeRecord(3));
      assert.deepEqual((await store.list()).map((s) => s.execution_id), ["exec_0003", "exec_0001"]);
    } finally {
      await ownLink.close();
      await own.stop();
    }
  });
});
