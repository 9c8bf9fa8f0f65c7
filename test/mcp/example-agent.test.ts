import { test } from "node:test";
import assert from "node:assert/strict";
import { loadAgent } from "../../src/config/index.js";
import { createToolResolver } from "../../src/tools/registry.js";
import { makeContext } from "../tools/helpers.js";
import { join } from "node:path";
import { repoRoot } from "../helpers/paths.js";

const EXAMPLE = join(repoRoot, "agents", "files-mcp.yaml");

test("agents/files-mcp.yaml loads, and the calls its mock scripts work against the real server", async () => {
  const agent = await loadAgent(EXAMPLE, { env: process.env });
  const resolver = createToolResolver(agent);
  try {
    const node = agent.graph.nodes[0]!;
    assert.equal(node.type, "llm");
    const tools = await resolver.resolve(node.type === "llm" ? node.tools : []);
    assert.ok(tools.length > 5);
    const script = agent.llm?.responses?.survey ?? [];
    const calls = script.flatMap((turn) => turn.tool_calls ?? []).filter((call) => call.name !== "set_output");
    assert.equal(calls.length, 2);
    const results: unknown[] = [];
    for (const call of calls) results.push(await (await resolver.get(call.name)).call(call.arguments, makeContext()));
    assert.deepEqual(results, [
      { content: "[FILE] notes.md\n[FILE] todo.txt" },
      { content: "- water the plants\n- review the release notes\n" },
    ]);
  } finally {
    await resolver.close();
  }
});
