/**
 * `import "forager"` must not load the CEL engine, the JSON Schema
 * validator, the cron parser or the logger: each loads on first use (through
 * src/util/lazy.ts). The library is then also usable: a logger writes, an
 * expression evaluates, a schema checks, a cron time comes out.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { modulesLoadedBy, root } from "../helpers/modules-loaded.js";

const LAZY = /node_modules\/(@marcbachmann\/cel-js|@cfworker\/json-schema|croner|pino)\//;

test('import "forager" loads none of cel-js, @cfworker/json-schema, croner, pino; each works when first used', async () => {
  const index = JSON.stringify(pathToFileURL(join(root, "dist/index.js")).href);
  const onImport = await modulesLoadedBy(`await import(${index});`);
  assert.ok(onImport.some((url) => url.endsWith("/dist/index.js")), "the library was loaded");
  assert.deepEqual(onImport.filter((url) => LAZY.test(url)), []);

  const lazy = (path: string) => JSON.stringify(pathToFileURL(join(root, "dist", path)).href);
  // modulesLoadedBy fails unless the code exits 0: every check below passed.
  await modulesLoadedBy(`
    const { createLogger } = await import(${index});
    const { evaluateExpression } = await import(${lazy("expr/index.js")});
    const { jsonSchemaErrors } = await import(${lazy("util/json-schema.js")});
    const { scheduleFor } = await import(${lazy("runtime/schedule.js")});
    const lines = [];
    createLogger({ format: "json", destination: { write: (line) => lines.push(line) } }).info("hello");
    if (!lines[0]?.includes('"msg":"hello"')) process.exit(3);
    if (evaluateExpression("input.n + 1", { input: { n: 1 } }) !== 2) process.exit(4);
    if (jsonSchemaErrors({ type: "object", required: ["a"] }, {}).length !== 1) process.exit(5);
    const next = scheduleFor({ cron: "0 * * * *", timezone: "UTC" }, 0).next(0);
    if (next !== 3600000) process.exit(6);`);
});
