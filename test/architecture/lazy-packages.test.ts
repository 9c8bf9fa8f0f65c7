/**
 * `import "forager"` must not load zod, yaml, the CEL engine, the JSON
 * Schema validator, the cron parser, the logger or the Redis client and
 * BullMQ (the cluster backend only): each loads on first use
 * (through src/util/lazy.ts), and `new AgentRuntime()` takes its defaults
 * from a plain object (src/config/defaults.ts), not from the zod schema.
 * The library is then also usable: a logger writes, an expression
 * evaluates, a schema checks, a cron time comes out, an agent loads.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { modulesLoadedBy, root } from "../helpers/modules-loaded.js";

const LAZY = /node_modules\/(zod|yaml|@marcbachmann\/cel-js|@cfworker\/json-schema|croner|pino|ioredis|bullmq)\//;
const index = JSON.stringify(pathToFileURL(join(root, "dist/index.js")).href);

test('import "forager" loads none of zod, yaml, cel-js, @cfworker/json-schema, croner, pino, ioredis, bullmq; each works when first used', async () => {
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

test("new AgentRuntime() with no agent loads no zod; agentFromObject loads it and builds an agent with the same defaults", async () => {
  const built = await modulesLoadedBy(`
    const { AgentRuntime } = await import(${index});
    const runtime = new AgentRuntime();
    if (runtime.config.max_concurrent_executions !== 100 || runtime.config.session_retention.max_sessions !== 10000) process.exit(3);`);
  assert.deepEqual(built.filter((url) => /node_modules\/zod\//.test(url)), []);

  const loaded = await modulesLoadedBy(`
    const { AgentRuntime, agentFromObject } = await import(${index});
    const agent = agentFromObject({ name: "a", graph: { nodes: [{ id: "n", type: "function", module: "./m.mjs" }] } });
    const runtime = new AgentRuntime({ agent });
    if (JSON.stringify(agent.runtime) !== JSON.stringify(runtime.config)) process.exit(3);
    const ep = agent.entry_points[0];
    if (ep.id !== "default" || ep.entry_node !== "n" || ep.overlap !== "queue" || ep.max_concurrent !== 10) process.exit(4);`);
  assert.ok(loaded.some((url) => /node_modules\/zod\//.test(url)), "validating an agent loads zod");
});
