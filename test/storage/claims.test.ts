import { test } from "node:test";
import assert from "node:assert/strict";
import { claimKey, pendingClaim, releaseClaim, settleClaim } from "../../src/storage/claims.js";
import { FileKeyStore, MemoryKeyStore } from "../../src/storage/keys.js";
import type { KeyStore } from "../../src/storage/types.js";
import { withTempDir } from "./helpers.js";

const stores: [string, (dir: string) => KeyStore][] = [
  ["file", (dir) => new FileKeyStore(dir)],
  ["memory", () => new MemoryKeyStore()],
];

/** Runs `body` with a fresh store in a temporary folder, closing the store after. */
function withStore(make: (dir: string) => KeyStore, body: (keys: KeyStore) => Promise<void>): Promise<void> {
  return withTempDir(async (dir) => {
    const keys = make(dir);
    try {
      await body(keys);
    } finally {
      await keys.close?.();
    }
  });
}

for (const [name, make] of stores) {
  test(`${name}: a racing copy waits for the first holder and gets its final value`, () =>
    withStore(make, async (keys) => {
      const first = pendingClaim("a");
      assert.deepEqual(await claimKey(keys, "ns", "d1", first, 1000), { status: "claimed" });
      const racing = claimKey(keys, "ns", "d1", pendingClaim("b"), 5000);
      // The racer is polling now; the first holder finishes.
      await settleClaim(keys, "ns", "d1", first, "evt_a", 3600);
      assert.deepEqual(await racing, { status: "final", value: "evt_a" });
    }));

  test(`${name}: when the first holder gives up, the racing copy takes the key`, () =>
    withStore(make, async (keys) => {
      const first = pendingClaim("a");
      await claimKey(keys, "ns", "d1", first, 1000);
      const second = pendingClaim("b");
      const racing = claimKey(keys, "ns", "d1", second, 5000);
      await releaseClaim(keys, "ns", "d1", first);
      assert.deepEqual(await racing, { status: "claimed" });
      assert.equal(await keys.get("ns", "d1"), second);
      // A late release by the first holder leaves the second's claim alone.
      await releaseClaim(keys, "ns", "d1", first);
      assert.equal(await keys.get("ns", "d1"), second);
    }));

  test(`${name}: a holder that never finishes makes the racer give up after its bounded wait`, () =>
    withStore(make, async (keys) => {
      await claimKey(keys, "ns", "d1", pendingClaim("a"), 1000);
      assert.deepEqual(await claimKey(keys, "ns", "d1", pendingClaim("b"), 30), { status: "pending" });
    }));

  test(`${name}: settling after the claim was taken over keeps the other holder's key`, () =>
    withStore(make, async (keys) => {
      const mine = pendingClaim("a");
      await claimKey(keys, "ns", "d1", mine, 0);
      await releaseClaim(keys, "ns", "d1", mine);
      await claimKey(keys, "ns", "d1", pendingClaim("b"), 0);
      await settleClaim(keys, "ns", "d1", mine, "evt_a", 3600);
      assert.equal(await keys.get("ns", "d1"), pendingClaim("b"));
      // With nobody holding it, a late settle still records the key.
      await settleClaim(keys, "ns", "d2", mine, "evt_a", 3600);
      assert.equal(await keys.get("ns", "d2"), "evt_a");
    }));
}
