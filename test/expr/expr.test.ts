// Templates and conditions as an agent author writes them (SPEC 3.1).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExpressionError, evaluateCondition, renderTemplate } from "../../src/expr/index.js";

const scope = {
  input: { title: "Disk full", count: 2, ratio: 0.5, tags: ["a", "b"], issue: { id: 7 } },
  memory: { severity: "high" },
  state: {},
};

test("a lone {{ }} keeps the value's type; mixed text renders values, objects as JSON", () => {
  assert.deepEqual(renderTemplate("{{ input.issue }}", scope), { id: 7 });
  assert.equal(renderTemplate("{{ input.count }}", scope), 2);
  assert.equal(renderTemplate("#{{ input.issue.id }}: {{ input.issue }}", scope), '#7: {"id":7}');
  assert.deepEqual(renderTemplate({ args: ["{{ input.tags }}", "x{{ input.count }}"] }, scope), { args: [["a", "b"], "x2"] });
});

test("whole numbers from JSON do integer arithmetic and come back as numbers", () => {
  assert.equal(renderTemplate("{{ input.count + 1 }}", scope), 3);
  assert.equal(renderTemplate("{{ input.ratio * 2.0 }}", scope), 1);
});

test("optionals render as their value, or null when empty", () => {
  assert.equal(renderTemplate('{{ input.?title.orValue("none") }}', scope), "Disk full");
  assert.equal(renderTemplate('{{ input.?missing.orValue("none") }}', scope), "none");
  assert.equal(renderTemplate("{{ input.?title }}", scope), "Disk full");
  assert.equal(renderTemplate("{{ input.?missing }}", scope), null);
  assert.equal(renderTemplate("[{{ input.?missing }}]", scope), "[]");
});

test("conditions must be booleans; failures name the expression", () => {
  assert.equal(evaluateCondition('memory.severity == "high"', scope), true);
  assert.equal(evaluateCondition("has(input.recover) && input.recover", scope), false);
  assert.throws(() => evaluateCondition("memory.severity", scope), (err: unknown) => err instanceof ExpressionError && /memory\.severity.*boolean/.test(err.message));
  assert.throws(() => evaluateCondition("input.recover == true", scope), /input\.recover == true.*No such key: recover/);
  assert.throws(() => renderTemplate("{{ nope.x }}", scope), /`nope\.x`: Unknown variable: nope/);
  assert.throws(() => renderTemplate("{{ 1 + }}", scope), ExpressionError);
});
