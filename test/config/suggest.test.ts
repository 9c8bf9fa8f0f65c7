import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { closestMatch, closestValue, didYouMean, editDistance } from "../../src/util/suggest.js";

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

  test("a fixed value is found by one of its words", () => {
    const conditions = ["on_success", "on_failure", "always"];
    assert.equal(closestValue("sucess", conditions), "on_success");
    assert.equal(closestValue("failure", conditions), "on_failure");
    assert.equal(closestValue("alwyas", conditions), "always");
    assert.equal(closestValue("sometimes", conditions), undefined);
    // A word two values share points at neither.
    assert.equal(closestValue("retry", ["retry_once", "retry_twice"]), undefined);
  });
});
