import { test } from "node:test";
import assert from "node:assert/strict";
import { jsonDepthExceeds } from "../../src/server/json-depth.js";

const b = (text: string) => Buffer.from(text);

test("jsonDepthExceeds counts arrays and objects outside strings, without recursion", () => {
  assert.equal(jsonDepthExceeds(b("[".repeat(64) + "]".repeat(64)), 64), false);
  assert.equal(jsonDepthExceeds(b("[".repeat(65) + "]".repeat(65)), 64), true);
  assert.equal(jsonDepthExceeds(b('{"a":{"b":[1,{"c":2}]}}'), 3), true);
  assert.equal(jsonDepthExceeds(b('{"a":{"b":[1,{"c":2}]}}'), 4), false);
  // Brackets in strings, escaped quotes and escaped backslashes do not count.
  assert.equal(jsonDepthExceeds(b(JSON.stringify({ s: "[[[[{{{{", t: 'say \\"[[[', u: "\\" })), 1), false);
  assert.equal(jsonDepthExceeds(b(`["\\\\", [[1]]]`), 2), true);
  // Siblings do not add up; a million levels is one linear pass.
  assert.equal(jsonDepthExceeds(b("[[],[],[],[]]".repeat(1000)), 2), false);
  assert.equal(jsonDepthExceeds(b("[".repeat(1_000_000)), 64), true);
});
