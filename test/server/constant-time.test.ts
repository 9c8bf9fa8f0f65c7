/**
 * The comparisons that guard webhooks and the control API take as long for a
 * value wrong in its first byte as for one wrong in its last. Measured on the
 * comparison itself, with inputs long enough that an early exit would be a
 * gap of orders of magnitude: HTTP round trips would drown a byte compare in
 * noise, so they are not what is timed here.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { anyEqual } from "../../src/server/verify/index.js";
import { bearerMatches } from "../../src/server/auth.js";

const SIZE = 1 << 18;
const good = Buffer.alloc(SIZE, 0x61);
const wrongFirst = Buffer.from(good);
wrongFirst[0] = 0x62;
const wrongLast = Buffer.from(good);
wrongLast[SIZE - 1] = 0x62;

/** Median milliseconds of `compare(a)` against `compare(b)`, sampled interleaved so load drifts hit both alike. */
function medians(compare: (value: Buffer) => boolean, a: Buffer, b: Buffer, rounds = 41): [number, number] {
  const time = (value: Buffer) => {
    const t0 = performance.now();
    for (let i = 0; i < 4; i++) compare(value);
    return performance.now() - t0;
  };
  for (let i = 0; i < 5; i++) time(i % 2 ? a : b); // warm-up
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      ta.push(time(a));
      tb.push(time(b));
    } else {
      tb.push(time(b));
      ta.push(time(a));
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return [median(ta), median(tb)];
}

describe("constant-time comparisons", () => {
  test("the measurement sees an early exit: Buffer.equals is far faster when the first byte differs", () => {
    const [first, last] = medians((value) => value.equals(good), wrongFirst, wrongLast);
    assert.ok(last / first > 5, `Buffer.equals: ${first.toFixed(4)} ms (first byte wrong) vs ${last.toFixed(4)} ms (last byte wrong)`);
  });

  test("anyEqual, used by every signature verifier, takes as long whichever byte is wrong", () => {
    assert.equal(anyEqual([good], [good]), true);
    assert.equal(anyEqual([wrongFirst], [good]), false);
    assert.equal(anyEqual([wrongLast], [good]), false);
    const [first, last] = medians((value) => anyEqual([value], [good]), wrongFirst, wrongLast);
    const ratio = first / last;
    assert.ok(ratio > 0.5 && ratio < 2, `anyEqual: ${first.toFixed(4)} ms vs ${last.toFixed(4)} ms (ratio ${ratio.toFixed(2)})`);
  });

  test("the control token compare takes as long whichever character is wrong", () => {
    const token = good.toString("latin1");
    const header = (value: Buffer) => `Bearer ${value.toString("latin1")}`;
    assert.equal(bearerMatches(header(good), token), true);
    assert.equal(bearerMatches(header(wrongFirst), token), false);
    const [first, last] = medians((value) => bearerMatches(header(value), token), wrongFirst, wrongLast, 21);
    const ratio = first / last;
    assert.ok(ratio > 0.5 && ratio < 2, `bearer token: ${first.toFixed(4)} ms vs ${last.toFixed(4)} ms (ratio ${ratio.toFixed(2)})`);
  });
});
