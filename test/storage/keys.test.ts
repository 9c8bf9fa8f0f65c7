import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { FileKeyStore, MemoryKeyStore } from "../../src/storage/keys.js";
import type { KeyStore } from "../../src/storage/types.js";
import { FakeClock } from "../../src/util/clock.js";
import { withTempDir } from "./helpers.js";

const stores: [string, (dir: string, clock: FakeClock) => KeyStore][] = [
  ["FileKeyStore", (dir, clock) => new FileKeyStore(dir, { clock })],
  ["MemoryKeyStore", (_dir, clock) => new MemoryKeyStore({ clock })],
];

for (const [name, make] of stores) {
  describe(name, () => {
    test("20 concurrent putIfAbsent calls with the same key: exactly one wins", async () => {
      await withTempDir(async (dir) => {
        const store = make(dir, new FakeClock(0));
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.putIfAbsent("webhook:github", "delivery-1", `exec_${i}`, 3600)),
        );
        const winners = results.filter((r) => r.existing === undefined);
        assert.equal(winners.length, 1);
        const winner = `exec_${results.findIndex((r) => r.existing === undefined)}`;
        assert.ok(results.every((r) => r.existing === undefined || r.existing === winner));
        assert.equal(await store.get("webhook:github", "delivery-1"), winner);
        assert.equal(await store.get("webhook:slack", "delivery-1"), undefined, "namespaces are separate");
      });
    });

    test("entries expire after their TTL; set without TTL stays; delete removes", async () => {
      await withTempDir(async (dir) => {
        const clock = new FakeClock(0);
        const store = make(dir, clock);
        await store.putIfAbsent("idempotency:triage/api", "k", "exec_1", 86_400);
        await store.set("timer:triage/tick", "last", "2026-01-01T00:00:00.000Z");
        await clock.advance(86_399_000);
        assert.deepEqual(await store.putIfAbsent("idempotency:triage/api", "k", "exec_2", 86_400), { existing: "exec_1" });
        await clock.advance(1_000);
        assert.equal(await store.get("idempotency:triage/api", "k"), undefined);
        assert.deepEqual(await store.putIfAbsent("idempotency:triage/api", "k", "exec_2", 86_400), {});
        assert.equal(await store.get("timer:triage/tick", "last"), "2026-01-01T00:00:00.000Z");
        await store.delete("timer:triage/tick", "last");
        assert.equal(await store.get("timer:triage/tick", "last"), undefined);
      });
    });

    test("compareAndSet and deleteIfValue act only while the live value is the expected one", async () => {
      await withTempDir(async (dir) => {
        const clock = new FakeClock(0);
        const store = make(dir, clock);
        await store.putIfAbsent("claims", "k", "pending:a", 30, { transient: true });
        assert.equal(await store.compareAndSet("claims", "k", "pending:b", "final-b", 3600), false);
        assert.equal(await store.deleteIfValue("claims", "k", "pending:b"), false);
        assert.equal(await store.get("claims", "k"), "pending:a");
        assert.equal(await store.compareAndSet("claims", "k", "pending:a", "final-a", 3600), true);
        assert.equal(await store.get("claims", "k"), "final-a");
        assert.equal(await store.deleteIfValue("claims", "k", "pending:a"), false, "no longer the pending value");
        // The final value got the full TTL, not the claim's 30 s.
        await clock.advance(60_000);
        assert.equal(await store.get("claims", "k"), "final-a");
        assert.equal(await store.deleteIfValue("claims", "k", "final-a"), true);
        assert.equal(await store.get("claims", "k"), undefined);
        // An expired value is no value: neither call touches it.
        await store.putIfAbsent("claims", "old", "pending:x", 30, { transient: true });
        await clock.advance(30_000);
        assert.equal(await store.compareAndSet("claims", "old", "pending:x", "late", 3600), false);
        assert.equal(await store.deleteIfValue("claims", "old", "pending:x"), false);
        assert.deepEqual(await store.putIfAbsent("claims", "old", "pending:y", 30, { transient: true }), {});
      });
    });
  });
}

describe("FileKeyStore on disk", () => {
  test("keys survive a new instance; expired and deleted ones are dropped and the log compacted", async () => {
    await withTempDir(async (dir) => {
      const clock = new FakeClock(0);
      const first = new FileKeyStore(dir, { clock });
      await first.putIfAbsent("webhook:github", "d1", "exec_1", 60);
      await first.putIfAbsent("webhook:github", "d2", "exec_2", 7200);
      await first.set("timer:triage/tick", "last", "t1");
      await first.set("timer:triage/tick", "last", "t2");
      await first.set("timer:triage/tick", "gone", "x");
      await first.delete("timer:triage/tick", "gone");
      assert.deepEqual((await readdir(join(dir, "_keys"))).sort(), ["timer%3Atriage%2Ftick.jsonl", "webhook%3Agithub.jsonl"]);

      await clock.advance(120_000);
      const second = new FileKeyStore(dir, { clock });
      assert.equal(await second.get("webhook:github", "d1"), undefined);
      assert.deepEqual(await second.putIfAbsent("webhook:github", "d2", "exec_9", 7200), { existing: "exec_2" });
      assert.equal(await second.get("timer:triage/tick", "last"), "t2");
      assert.equal(await second.get("timer:triage/tick", "gone"), undefined);
      const webhookLog = (await readFile(join(dir, "_keys", "webhook%3Agithub.jsonl"), "utf8")).trim().split("\n");
      assert.equal(webhookLog.length, 1, "the expired key was compacted away");
      const timerLog = (await readFile(join(dir, "_keys", "timer%3Atriage%2Ftick.jsonl"), "utf8")).trim().split("\n");
      assert.equal(timerLog.length, 1);
    });
  });
});

test("a transient claim is never written: a restart forgets it, while its final value survives", () =>
  withTempDir(async (dir) => {
    const clock = new FakeClock(0);
    const store = new FileKeyStore(dir, { clock });
    await store.putIfAbsent("webhook-deliveries", "gone", "pending:1", 30, { transient: true });
    await store.putIfAbsent("webhook-deliveries", "kept", "pending:2", 30, { transient: true });
    assert.equal(await store.compareAndSet("webhook-deliveries", "kept", "pending:2", "evt_2", 3600), true);
    await store.putIfAbsent("webhook-deliveries", "released", "pending:3", 30, { transient: true });
    assert.equal(await store.deleteIfValue("webhook-deliveries", "released", "pending:3"), true);
    await store.close();
    const lines = (await readFile(join(dir, "_keys", "webhook-deliveries.jsonl"), "utf8")).trim().split("\n");
    assert.deepEqual(lines.map((line) => JSON.parse(line) as { k: string; v?: string }).map((l) => [l.k, l.v]), [["kept", "evt_2"]]);
    const reopened = new FileKeyStore(dir, { clock });
    assert.equal(await reopened.get("webhook-deliveries", "gone"), undefined);
    assert.equal(await reopened.get("webhook-deliveries", "kept"), "evt_2");
  }));

test("a burst of 500 claims on distinct keys is all on disk when the calls resolve", () =>
  withTempDir(async (dir) => {
    const store = new FileKeyStore(dir);
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => store.putIfAbsent("webhook:burst", `d${i}`, `e${i}`, 3600)),
    );
    assert.ok(results.every((r) => r.existing === undefined));
    const again = await Promise.all(
      Array.from({ length: 500 }, (_, i) => store.putIfAbsent("webhook:burst", `d${i}`, "other", 3600)),
    );
    assert.ok(again.every((r, i) => r.existing === `e${i}`));
    const reopened = new FileKeyStore(dir);
    for (let i = 0; i < 500; i += 50) assert.equal(await reopened.get("webhook:burst", `d${i}`), `e${i}`);
  }));
