import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { claimKey, pendingClaim, releaseClaim, settleClaim } from "../../src/storage/claims.js";
import { RedisLink, RedisUnavailableError } from "../../src/storage/redis/connection.js";
import { RedisIngestLog } from "../../src/storage/redis/ingest-log.js";
import { RedisKeyStore } from "../../src/storage/redis/keys.js";
import type { ForagerEvent } from "../../src/events/types.js";
import { redisSkip, useRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait.js";

describe("RedisKeyStore", { skip: redisSkip() }, () => {
  // A prefix of its own per test, so tests never see each other's keys.
  const redis = useRedis({ label: "keys" });
  const { link, prefix } = redis;

  test("putIfAbsent is atomic across processes: of 50 concurrent claims over two links exactly one wins", async () => {
    const p = prefix();
    const a = new RedisKeyStore(link(p));
    const b = new RedisKeyStore(link(p));
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, n) => (n % 2 === 0 ? a : b).putIfAbsent("webhook:gh", "delivery-1", `claim-${n}`, 60, { transient: true })),
    );
    const winners = outcomes.map((o, n) => (o.existing === undefined ? n : -1)).filter((n) => n >= 0);
    assert.equal(winners.length, 1, `exactly one winner, got ${winners.length}`);
    const winner = `claim-${winners[0]}`;
    assert.ok(outcomes.every((o, n) => n === winners[0] || o.existing === winner), "every loser sees the winner's value");
    assert.equal(await a.get("webhook:gh", "delivery-1"), winner);
    const raw = await (await link(p).commands()).get(`${p}:key:webhook:gh:delivery-1`);
    assert.equal(raw, winner, "stored at <prefix>:key:<namespace>:<key>");
  });

  test("get, set and delete; a missing key reads undefined", async () => {
    const keys = new RedisKeyStore(link(prefix()));
    assert.equal(await keys.get("ns", "k"), undefined);
    await keys.set("ns", "k", "v1");
    assert.equal(await keys.get("ns", "k"), "v1");
    await keys.set("ns", "k", "v2", 3600);
    assert.equal(await keys.get("ns", "k"), "v2");
    await keys.delete("ns", "k");
    assert.equal(await keys.get("ns", "k"), undefined);
    await keys.delete("ns", "never-there");
  });

  test("compareAndSet and deleteIfValue act only while the value is the expected one", async () => {
    const keys = new RedisKeyStore(link(prefix()));
    assert.equal(await keys.compareAndSet("ns", "k", "a", "b"), false, "no key, nothing to replace");
    assert.equal(await keys.get("ns", "k"), undefined);
    await keys.set("ns", "k", "a");
    assert.equal(await keys.compareAndSet("ns", "k", "x", "b"), false);
    assert.equal(await keys.get("ns", "k"), "a");
    assert.equal(await keys.compareAndSet("ns", "k", "a", "b", 3600), true);
    assert.equal(await keys.get("ns", "k"), "b");
    assert.equal(await keys.deleteIfValue("ns", "k", "a"), false);
    assert.equal(await keys.get("ns", "k"), "b");
    assert.equal(await keys.deleteIfValue("ns", "k", "b"), true);
    assert.equal(await keys.get("ns", "k"), undefined);
  });

  test("compareAndSet is atomic: of concurrent replacements of one value across two links one succeeds", async () => {
    const p = prefix();
    const a = new RedisKeyStore(link(p));
    const b = new RedisKeyStore(link(p));
    await a.set("ns", "k", "start");
    const done = await Promise.all(Array.from({ length: 20 }, (_, n) => (n % 2 ? a : b).compareAndSet("ns", "k", "start", `v${n}`, 60)));
    assert.equal(done.filter(Boolean).length, 1);
    assert.equal(await a.get("ns", "k"), `v${done.indexOf(true)}`);
  });

  test("TTLs: an entry expires by itself and can then be claimed again; compareAndSet sets the new TTL", async () => {
    const p = prefix();
    const keys = new RedisKeyStore(link(p));
    assert.deepEqual(await keys.putIfAbsent("ns", "short", "first", 0.2), {});
    assert.deepEqual(await keys.putIfAbsent("ns", "short", "second", 0.2), { existing: "first" });
    await waitFor("the key to expire", async () => (await keys.get("ns", "short")) === undefined, { timeoutMs: 10_000, stepMs: 20 });
    assert.deepEqual(await keys.putIfAbsent("ns", "short", "third", 60), {});
    assert.equal(await keys.get("ns", "short"), "third");
    const client = await link(p).commands();
    const ttl = await client.pttl(`${p}:key:ns:short`);
    assert.ok(ttl > 50_000 && ttl <= 60_000, `TTL of about 60 s, got ${ttl} ms`);
    assert.equal(await keys.compareAndSet("ns", "short", "third", "fourth"), true);
    assert.equal(await client.pttl(`${p}:key:ns:short`), -1, "no TTL given: the value is kept until deleted");
  });

  test("the claims protocol works over Redis: claim, a second copy sees the final value, release frees the key", async () => {
    const p = prefix();
    const a = new RedisKeyStore(link(p));
    const b = new RedisKeyStore(link(p));
    const claim = pendingClaim("evt_1");
    assert.deepEqual(await claimKey(a, "webhook:x", "d1", claim, 0), { status: "claimed" });
    assert.deepEqual(await claimKey(b, "webhook:x", "d1", pendingClaim("evt_2"), 0), { status: "pending" });
    const waiting = claimKey(b, "webhook:x", "d1", pendingClaim("evt_2"), 10_000);
    await settleClaim(a, "webhook:x", "d1", claim, "evt_1", 3600);
    assert.deepEqual(await waiting, { status: "final", value: "evt_1" });

    const other = pendingClaim("evt_3");
    assert.deepEqual(await claimKey(a, "webhook:x", "d2", other, 0), { status: "claimed" });
    await releaseClaim(b, "webhook:x", "d2", pendingClaim("not-mine"));
    assert.equal(await a.get("webhook:x", "d2"), other, "another holder's claim is left alone");
    await releaseClaim(a, "webhook:x", "d2", other);
    assert.equal(await a.get("webhook:x", "d2"), undefined);
  });

  test("a claim whose holder died is taken over once its pending time is up, and the dead holder's late settle changes nothing", async () => {
    const p = prefix();
    const dead = new RedisKeyStore(link(p));
    const alive = new RedisKeyStore(link(p));
    const lost = pendingClaim("evt_dead");
    // The holder claims for 1 s and never settles nor releases (its process was killed).
    assert.deepEqual(await claimKey(dead, "evt", "ep:exec_1:execution_failed", lost, 0, 1), { status: "claimed" });
    // A re-run of the source elsewhere waits past the pending time (its wait is counted in
    // 10 ms poll steps, so a slow machine only makes it longer) and takes the key over.
    const mine = pendingClaim("evt_rerun");
    assert.deepEqual(await claimKey(alive, "evt", "ep:exec_1:execution_failed", mine, 3_000, 1), { status: "claimed" });
    assert.equal(await alive.get("evt", "ep:exec_1:execution_failed"), mine);
    await settleClaim(alive, "evt", "ep:exec_1:execution_failed", mine, "exec_guardian", 3600);
    await settleClaim(dead, "evt", "ep:exec_1:execution_failed", lost, "exec_other", 3600);
    assert.equal(await alive.get("evt", "ep:exec_1:execution_failed"), "exec_guardian");
  });

  test("an owned link is closed by close() and the store works again after", async () => {
    const keys = new RedisKeyStore(new RedisLink({ url: redis.url, prefix: prefix() }), { ownsLink: true });
    await keys.set("ns", "k", "v");
    await keys.close();
    assert.equal(await keys.get("ns", "k"), "v");
    await keys.close();
  });
});

describe("RedisIngestLog", { skip: redisSkip() }, () => {
  const redis = useRedis({ label: "keys" });

  test("appends each event to its source's capped stream; prune trims entries older than the age", async () => {
    const p = redis.prefix();
    const link = redis.link(p);
    const log = new RedisIngestLog(link);
    const event = (n: number, source: string): ForagerEvent => ({
      id: `evt_${n}`,
      type: "webhook_received",
      timestamp: new Date().toISOString(),
      graph_id: "bot",
      stream_id: source,
      execution_id: null,
      session_id: null,
      node_id: null,
      correlation_id: null,
      data: { n },
    } as unknown as ForagerEvent);
    await log.append(event(1, "github"));
    await log.append(event(2, "github"));
    await log.append(event(3, "stripe"));
    const client = await link.commands();
    const entries = await client.xrange(`${p}:ingest:github`, "-", "+");
    assert.deepEqual(
      entries.map(([, fields]) => JSON.parse(fields[1]!).id),
      ["evt_1", "evt_2"],
    );
    assert.equal(entries[0]![1][0], "data");
    assert.equal(await client.xlen(`${p}:ingest:stripe`), 1);

    const [serverSeconds] = await client.time();
    assert.deepEqual(await log.prune(3600, Number(serverSeconds) * 1000), [], "nothing older than an hour");
    const trimmed = await log.prune(0, Number(serverSeconds) * 1000 + 60_000);
    assert.deepEqual(trimmed.sort(), [`${p}:ingest:github (2 entries)`, `${p}:ingest:stripe (1 entries)`]);
    assert.equal(await client.xlen(`${p}:ingest:github`), 0);
    await log.close();
  });
});

describe("Redis stores while Redis is away", { skip: redisSkip() }, () => {
  // Every write on disk before its reply: under everysec a busy machine may postpone the AOF write, and SIGKILL would lose it.
  const redis = useRedis({ label: "keys", args: ["--appendfsync", "always"] });

  test("calls reject with redis_unavailable quickly, and work again once Redis is back", async () => {
    const link = new RedisLink({ url: redis.url, prefix: redis.prefix() });
    const keys = new RedisKeyStore(link);
    try {
      await keys.set("ns", "k", "v");
      await redis.kill();
      for (const call of [() => keys.get("ns", "k"), () => keys.putIfAbsent("ns", "x", "y", 60), () => keys.compareAndSet("ns", "k", "v", "w")]) {
        const started = Date.now();
        await assert.rejects(call(), (err: unknown) => err instanceof RedisUnavailableError && err.code === "redis_unavailable");
        assert.ok(Date.now() - started < 6_000, `failed fast (${Date.now() - started} ms)`);
      }
      await redis.restart();
      const value = await waitFor("the store to work again", () => keys.get("ns", "k").catch(() => false), { timeoutMs: 15_000, stepMs: 50 });
      assert.equal(value, "v", "the AOF kept the key");
      assert.equal(await keys.compareAndSet("ns", "k", "v", "w"), true);
    } finally {
      await link.close();
    }
  });
});
