// `run --input` against an entry point's input_schema: each problem in plain words, one line, exit 2.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCli, tempDir, STACK_LINE } from "../helpers/cli.js";
import { jsonSchemaErrors } from "../../src/util/json-schema.js";

const AGENT = `name: typed
tools:
  hook: { type: emit }
entry_points:
  - id: start
    trigger_type: manual
    input_schema:
      type: object
      properties:
        path: { type: string }
      required: [path]
      additionalProperties: false
graph:
  nodes:
    - { id: first, type: tool, tool: hook }
`;

let dir: { path: string; cleanup: () => Promise<void> };
before(async () => {
  dir = await tempDir("forager-input-schema-");
  await writeFile(join(dir.path, "typed.yaml"), AGENT);
});
after(() => dir.cleanup());

async function runWith(input: string) {
  return runCli(["run", join(dir.path, "typed.yaml"), "--input", input, "--storage", join(dir.path, "storage")]);
}

function assertOneLine(stderr: string, code: number | null): string {
  assert.equal(code, 2, stderr);
  assert.doesNotMatch(stderr, STACK_LINE);
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.doesNotMatch(stderr, /additional properties schema|Instance|keyword|boolean schema/);
  return lines[0]!;
}

describe("run --input checked against input_schema", () => {
  test("an unknown property names the allowed ones", async () => {
    const r = await runWith('{"path":"/","pth":"/"}');
    const line = assertOneLine(r.stderr, r.code);
    assert.match(line, /^error: input does not match entry point start's input_schema: unknown property "pth" \(allowed: path\)/);
  });

  test("a missing required property is named", async () => {
    const r = await runWith("{}");
    const line = assertOneLine(r.stderr, r.code);
    assert.match(line, /: missing property "path"$/);
  });

  test("a wrong type says what was expected and what was given", async () => {
    const r = await runWith('{"path":3}');
    const line = assertOneLine(r.stderr, r.code);
    assert.match(line, /: "path" must be a string, got number$/);
  });

  test("nested places, enums and bounds read as sentences", () => {
    const schema = {
      type: "object",
      properties: {
        mode: { enum: ["fast", "slow"] },
        n: { type: "integer", minimum: 1 },
        opts: { type: "object", properties: { x: { type: "string" } }, required: ["x"], additionalProperties: false },
        list: { type: "array", items: { type: "number" } },
      },
    };
    assert.deepEqual(jsonSchemaErrors(schema, { mode: "fsat", n: 0, opts: { y: 1 }, list: [1, "a"] }), [
      `"mode" must be one of "fast", "slow", got "fsat" (did you mean "fast"?)`,
      `"n" must be at least 1, got 0`,
      `missing property "opts.x"`,
      `unknown property "opts.y" (allowed: x)`,
      `"list[1]" must be a number, got string`,
    ]);
    assert.deepEqual(jsonSchemaErrors(schema, "text"), ["input must be an object, got string"]);
  });
});
