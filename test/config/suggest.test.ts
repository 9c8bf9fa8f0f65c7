import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { closestMatch, didYouMean, editDistance } from "../../src/util/suggest.js";

describe("did-you-mean suggestions", () => {
  test("counts an adjacent swap as one edit", () => {
    assert.equal(editDistance("grpah", "graph"), 1);
    assert.equal(editDistance("notfiy", "notify"), 1);
    assert.equal(editDistance("abc", "abc"), 0);
    assert.equal(editDistance("", "abc"), 3);
  });

  test("offers the closest candidate, ignoring case", () => {
    assert.equal(closestMatch("grpah", ["name", "graph", "goal"]), "graph");
    assert.equal(closestMatch("Classify", ["classify", "escalate"]), "classify");
    assert.equal(didYouMean("escalte", ["classify", "escalate"]), ' (did you mean "escalate"?)');
  });

  test("offers nothing when no candidate is close", () => {
    assert.equal(closestMatch("zzzz", ["graph", "name"]), undefined);
    assert.equal(closestMatch("x", ["graph"]), undefined);
    assert.equal(didYouMean("completely_different", ["graph", "name"]), "");
  });
});
