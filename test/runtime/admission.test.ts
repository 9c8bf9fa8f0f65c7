import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decideAdmission, hasFreeSlot, retryAfterSeconds, type AdmissionCounts, type AdmissionTarget } from "../../src/runtime/admission.js";
import type { OverlapPolicy } from "../../src/config/schema.js";

const target = (overlap: OverlapPolicy, max_concurrent = 2, max_queued = 3): AdmissionTarget => ({
  key: "ops/api",
  entryPoint: { overlap, max_concurrent, max_queued },
});
const counts = (c: Partial<AdmissionCounts> = {}): AdmissionCounts => ({ active: 0, waiting: 0, successor: false, avgMs: 0, ...c });
const POLICIES: OverlapPolicy[] = ["queue", "skip", "reject", "cancel_previous"];

describe("decideAdmission (the overlap policy as a pure function)", () => {
  test("every policy starts at once while a slot is free and nothing waits", () => {
    for (const policy of POLICIES) {
      assert.deepEqual(decideAdmission(target(policy), counts()), { kind: "start" }, policy);
      assert.deepEqual(decideAdmission(target(policy), counts({ active: 1 })), { kind: "start" }, policy);
    }
  });

  test("a pending cancel_previous successor holds a slot in advance", () => {
    assert.equal(hasFreeSlot(target("queue"), counts({ active: 1, successor: true })), false);
    assert.deepEqual(decideAdmission(target("queue"), counts({ active: 1, successor: true })), { kind: "queue" });
  });

  test("queue: queues while busy, even with a free slot when others already wait (FIFO), and rejects at max_queued", () => {
    assert.deepEqual(decideAdmission(target("queue"), counts({ active: 2 })), { kind: "queue" });
    assert.deepEqual(decideAdmission(target("queue"), counts({ active: 1, waiting: 1 })), { kind: "queue" });
    assert.deepEqual(decideAdmission(target("queue"), counts({ active: 2, waiting: 2 })), { kind: "queue" });
    assert.deepEqual(decideAdmission(target("queue"), counts({ active: 2, waiting: 3, avgMs: 2500 })), {
      kind: "reject",
      reason: "queue of ops/api is full (max_queued 3)",
      retryAfterSeconds: 3,
    });
    // max_queued 0: nothing ever waits.
    assert.equal(decideAdmission(target("queue", 1, 0), counts({ active: 1 })).kind, "reject");
  });

  test("skip: skipped while busy, with the running count in the reason", () => {
    assert.deepEqual(decideAdmission(target("skip"), counts({ active: 2 })), { kind: "skip", reason: "ops/api is busy (2 running, overlap: skip)" });
  });

  test("reject: rejected while busy, with a Retry-After from the average duration", () => {
    assert.deepEqual(decideAdmission(target("reject"), counts({ active: 2, avgMs: 0 })), {
      kind: "reject",
      reason: "ops/api is busy (2 running, overlap: reject)",
      retryAfterSeconds: 1,
    });
    assert.equal((decideAdmission(target("reject"), counts({ active: 2, avgMs: 61_001 })) as { retryAfterSeconds: number }).retryAfterSeconds, 62);
  });

  test("cancel_previous: supersedes a pending successor first, else the oldest active execution", () => {
    assert.deepEqual(decideAdmission(target("cancel_previous", 1), counts({ active: 1 })), { kind: "replace", victim: "oldest_active" });
    assert.deepEqual(decideAdmission(target("cancel_previous", 1), counts({ active: 1, successor: true })), { kind: "replace", victim: "successor" });
    assert.deepEqual(decideAdmission(target("cancel_previous", 1), counts({ active: 0, successor: true })), { kind: "replace", victim: "successor" });
  });

  test("cancel_previous with no slot free but nobody to replace starts (as the in-process stream always did)", () => {
    assert.deepEqual(decideAdmission(target("cancel_previous", 1), counts({ active: 0, waiting: 1 })), { kind: "start" });
  });

  test("retryAfterSeconds rounds up to whole seconds, at least one", () => {
    assert.deepEqual([0, 1, 999, 1000, 1001, 4500].map(retryAfterSeconds), [1, 1, 1, 1, 2, 5]);
  });
});
