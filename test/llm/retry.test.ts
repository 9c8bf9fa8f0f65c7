import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelayMs, retryAfterMs, retryDelayMs } from "../../src/llm/retry.js";
import { estimateCostUsd } from "../../src/llm/index.js";

describe("retry timing", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");

  test("Retry-After in seconds, as an HTTP date, and retry-after-ms are understood", () => {
    assert.equal(retryAfterMs({ "Retry-After": "3" }, now), 3000);
    assert.equal(retryAfterMs({ "retry-after": "Wed, 01 Jan 2025 00:00:10 GMT" }, now), 10_000);
    assert.equal(retryAfterMs({ "retry-after-ms": "250", "retry-after": "3" }, now), 250);
    assert.equal(retryAfterMs({ "retry-after": "soon" }, now), undefined);
    assert.equal(retryAfterMs({}, now), undefined);
  });

  test("the server's wish is capped; without one the backoff doubles with full jitter", () => {
    const timing = { baseDelayMs: 500, maxDelayMs: 60_000, random: () => 0.999 };
    assert.equal(retryDelayMs(0, 3_600_000, timing), 60_000);
    assert.equal(retryDelayMs(0, 1500, timing), 1500);
    assert.equal(backoffDelayMs(0, timing), 499);
    assert.equal(backoffDelayMs(3, timing), 3996);
    assert.equal(backoffDelayMs(20, timing), 59_940);
    assert.equal(backoffDelayMs(3, { ...timing, random: () => 0 }), 0);
  });
});

describe("estimateCostUsd", () => {
  test("prices input and output tokens per million, and is 0 without pricing", () => {
    const usage = { input_tokens: 2_000_000, output_tokens: 500_000 };
    assert.equal(estimateCostUsd(usage, { input_per_million: 0.15, output_per_million: 0.6 }), 0.6);
    assert.equal(estimateCostUsd(usage), 0);
  });
});
