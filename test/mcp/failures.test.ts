import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createToolResolver } from "../../src/tools/registry.js";
import { ToolError } from "../../src/tools/types.js";
import { EXPOSED_NAME_PATTERN } from "../../src/tools/names.js";
import { makeAgent, makeContext } from "../tools/helpers.js";
import { childPids, FIXTURES } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";

const CRASHY = join(FIXTURES, "crashy-server.mjs");

function crashyResolver(timeoutSeconds = 10) {
  return createToolResolver(makeAgent({ mcp_servers: { crashy: { command: "node", args: [CRASHY], timeout_seconds: timeoutSeconds } } }, FIXTURES));
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  assert.fail("expected the call to fail");
}

describe("MCP failures", () => {
  test("a server that exits at once: ToolError naming it, with its stderr", async () => {
    const resolver = createToolResolver(
      makeAgent(
        { mcp_servers: { broken: { command: "node", args: ["-e", "console.error('broken: missing API token'); process.exit(1)"] } } },
        process.cwd(),
      ),
    );
    const err = await rejection(resolver.get("broken.anything"));
    assert.ok(err instanceof ToolError);
    assert.match(err.message, /^MCP server "broken" failed to start: the server exited; server stderr: broken: missing API token$/);
    await resolver.close();
  });

  test("a server program that does not exist: ToolError naming the server", async () => {
    const resolver = createToolResolver(makeAgent({ mcp_servers: { ghost: { command: "no-such-mcp-server-forager" } } }, process.cwd()));
    const err = await rejection(resolver.resolve(["ghost.*"]));
    assert.ok(err instanceof ToolError);
    assert.match(err.message, /^MCP server "ghost" failed to start: command not found: no-such-mcp-server-forager$/);
    await resolver.close();
  });

  test("a server that dies mid-call: ToolError with its stderr, no hang; the next call starts it again", async () => {
    const resolver = crashyResolver();
    try {
      const crash = await resolver.get("crashy.crash");
      const err = await rejection(crash.call({}, makeContext()));
      assert.ok(err instanceof ToolError);
      assert.match(err.message, /MCP server "crashy" went away during a call to crash; server stderr: .*crashy: about to fall over/s);
      const echo = await resolver.get("crashy.echo");
      assert.equal(await echo.call({ text: "again" }, makeContext()), "echo: again");
    } finally {
      await resolver.close();
    }
    await waitFor("the crashing server's processes to exit", () => childPids(CRASHY).length === 0);
  });

  test("isError results, summarised images, a timeout and an abort", async () => {
    // The same limit bounds the server's start: generous enough for a loaded CI machine.
    const resolver = crashyResolver(3);
    try {
      const fail = await rejection((await resolver.get("crashy.fail")).call({}, makeContext()));
      assert.ok(fail instanceof ToolError);
      assert.equal(fail.message, 'MCP tool "crashy.fail" returned an error: the disk is on fire');

      assert.equal(await (await resolver.get("crashy.picture")).call({}, makeContext()), "here it is\n[image: image/png, 30 bytes]");

      const hang = await resolver.get("crashy__hang");
      const timedOut = await rejection(hang.call({}, makeContext()));
      assert.equal(timedOut.message, 'MCP tool "crashy.hang" timed out after 3s');

      const controller = new AbortController();
      const call = hang.call({}, makeContext({ signal: controller.signal }));
      setTimeout(() => controller.abort(new Error("cancelled by user")), 50);
      assert.equal((await rejection(call)).message, "cancelled by user");
    } finally {
      await resolver.close();
    }
  });

  test("a tool name longer than 64 characters is exposed cut, with a hash, and still callable", async () => {
    const resolver = crashyResolver();
    try {
      const tools = await resolver.resolve(["crashy.*"]);
      const long = tools.find((tool) => tool.name.startsWith("crashy.a_tool_with"))!;
      assert.equal(long.exposedName.length, 64);
      assert.match(long.exposedName, EXPOSED_NAME_PATTERN);
      assert.match(long.exposedName, /^crashy__a_tool_with_a_name_so_long.*_[0-9a-f]{8}$/);
      const same = await resolver.get(long.exposedName);
      assert.equal(await same.call({}, makeContext()), "long ok");
    } finally {
      await resolver.close();
    }
  });
});
