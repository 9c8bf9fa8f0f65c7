import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createToolResolver } from "../../src/tools/registry.js";
import { ToolError } from "../../src/tools/types.js";
import { editDistance, exposedName, mcpExposedName, EXPOSED_NAME_PATTERN } from "../../src/tools/names.js";
import { makeAgent, makeContext } from "./helpers.js";

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  assert.fail("expected the call to fail");
}

const schema = {
  type: "object",
  properties: {
    path: { type: "string" },
    depth: { type: "integer", minimum: 1 },
    tags: { type: "array", items: { type: "string" } },
  },
  required: ["path"],
  additionalProperties: false,
};

describe("argument validation", () => {
  test("bad arguments are a ToolError listing every problem, and the tool does not run", async () => {
    const agent = makeAgent({ tools: { notify: { type: "emit", input_schema: schema } } }, process.cwd());
    const tool = await createToolResolver(agent).get("notify");
    const ctx = makeContext();
    const err = await rejection(tool.call({ depth: 0, tags: ["ok", 7], extra: true }, ctx));
    assert.ok(err instanceof ToolError);
    assert.match(err.message, /^invalid arguments for tool "notify": /);
    assert.match(err.message, /\(root\): Instance does not have required property "path"/);
    assert.match(err.message, /\/depth: 0 is less than 1/);
    assert.match(err.message, /\/tags\/1: Instance type "number" is invalid\. Expected "string"/);
    assert.match(err.message, /Property "extra" does not match additional properties schema/);
    assert.equal((err.result as { problems: string[] }).problems.length, 4);
    assert.equal(ctx.published.length, 0, "the tool did not run");
  });

  test("draft-07 schemas with tuple items are checked too", async () => {
    const tuple = { $schema: "http://json-schema.org/draft-07/schema#", type: "object", properties: { pair: { type: "array", items: [{ type: "string" }, { type: "number" }] } } };
    const agent = makeAgent({ tools: { pair: { type: "emit", input_schema: tuple } } }, process.cwd());
    const tool = await createToolResolver(agent).get("pair");
    const err = await rejection(tool.call({ pair: ["a", "b"] }, makeContext()));
    assert.match(err.message, /\/pair\/1: Instance type "string" is invalid\. Expected "number"/);
    assert.deepEqual(await tool.call({ pair: ["a", 1] }, makeContext()), { event_id: "evt-1" });
  });

  test("a tool without input_schema accepts any object", async () => {
    const agent = makeAgent({ tools: { notify: { type: "emit" } } }, process.cwd());
    const tool = await createToolResolver(agent).get("notify");
    assert.deepEqual(tool.inputSchema, { type: "object" });
    assert.deepEqual(await tool.call({ anything: [1, { x: 2 }] }, makeContext()), { event_id: "evt-1" });
  });
});

describe("emit tool", () => {
  test("publishes a custom event with the tool name and the arguments", async () => {
    const agent = makeAgent({ tools: { notify: { type: "emit", description: "Tell others" } } }, process.cwd());
    const tool = await createToolResolver(agent).get("notify");
    const ctx = makeContext();
    const result = await tool.call({ severity: "high", tool: "spoofed" }, ctx);
    assert.deepEqual(result, { event_id: "evt-1" });
    assert.deepEqual(ctx.published, [{ type: "custom", data: { tool: "notify", severity: "high" } }]);
    assert.equal(tool.description, "Tell others");
  });
});

describe("resolver names", () => {
  const agent = makeAgent(
    {
      tools: {
        fetch_page: { type: "http", url: "http://127.0.0.1:9/{{ args.p }}" },
        "odd name": { type: "emit" },
      },
    },
    process.cwd(),
  );

  test("finds file tools by name and by exposed name", async () => {
    const resolver = createToolResolver(agent);
    assert.equal((await resolver.get("fetch_page")).exposedName, "fetch_page");
    const odd = await resolver.get("odd name");
    assert.match(odd.exposedName, EXPOSED_NAME_PATTERN);
    assert.equal((await resolver.get(odd.exposedName)).name, "odd name");
    assert.deepEqual((await resolver.resolve(["fetch_page", "odd name", "fetch_page"])).map((t) => t.name), ["fetch_page", "odd name"]);
    await resolver.close();
    await resolver.close();
  });

  test("an unknown name is a ToolError with a suggestion", async () => {
    const resolver = createToolResolver(agent);
    const err = await rejection(resolver.get("fetch_pgae"));
    assert.ok(err instanceof ToolError);
    assert.equal(err.message, 'unknown tool "fetch_pgae" (did you mean "fetch_page"?)');
    const far = await rejection(resolver.get("completely_different"));
    assert.equal(far.message, 'unknown tool "completely_different"');
    const server = await rejection(resolver.resolve(["nope.*"]));
    assert.match(server.message, /unknown MCP server "nope"/);
  });

  test("exposed names are valid, deterministic and distinct", () => {
    assert.equal(mcpExposedName("files", "read_file"), "files__read_file");
    assert.equal(mcpExposedName("everything", "get-sum"), "everything__get-sum");
    const dotted = mcpExposedName("files", "a.b");
    assert.match(dotted, /^files__a_b_[0-9a-f]{8}$/);
    assert.notEqual(dotted, mcpExposedName("files", "a_b"));
    const long = mcpExposedName("server", "x".repeat(80));
    assert.equal(long.length, 64);
    assert.match(long, EXPOSED_NAME_PATTERN);
    assert.match(long, /^server__x+_[0-9a-f]{8}$/);
    assert.equal(long, mcpExposedName("server", "x".repeat(80)));
    assert.notEqual(long, mcpExposedName("server", "x".repeat(81)));
    assert.equal(exposedName("ok_name"), "ok_name");
    assert.equal(editDistance("kitten", "sitting"), 3);
  });
});
