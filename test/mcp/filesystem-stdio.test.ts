import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdir, realpath, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createToolResolver } from "../../src/tools/registry.js";
import { ToolError } from "../../src/tools/types.js";
import { EXPOSED_NAME_PATTERN } from "../../src/tools/names.js";
import { makeAgent, makeContext, withTempDir } from "../tools/helpers.js";
import { childPids, serverEntry } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";

const FILESYSTEM = serverEntry("@modelcontextprotocol/server-filesystem");

async function setUp(dir: string, serverName = "files") {
  const root = await realpath(dir);
  await writeFile(join(root, "notes.txt"), "first line\nsecond line\n");
  await mkdir(join(root, "docs"));
  await writeFile(join(root, "docs", "readme.md"), "# Hello from forager\n");
  const agent = makeAgent({ mcp_servers: { [serverName]: { command: "node", args: [FILESYSTEM, "."], timeout_seconds: 20 } } }, root);
  return { root, resolver: createToolResolver(agent) };
}

describe("MCP over stdio with server-filesystem", () => {
  test("lists and reads real files; SERVER.* expands; close leaves no child", async () => {
    await withTempDir(async (dir) => {
      const { root, resolver } = await setUp(dir);
      try {
        const all = await resolver.resolve(["files.*"]);
        const names = all.map((tool) => tool.name);
        assert.ok(names.includes("files.list_directory"), names.join(", "));
        assert.ok(names.includes("files.read_text_file"));
        for (const tool of all) assert.match(tool.exposedName, EXPOSED_NAME_PATTERN);
        assert.equal(all.find((tool) => tool.name === "files.read_text_file")!.exposedName, "files__read_text_file");
        assert.equal(childPids(FILESYSTEM).length, 1, "one server process for the resolver");

        const list = await resolver.get("files.list_directory");
        const listing = (await list.call({ path: root }, makeContext())) as { content: string };
        assert.deepEqual(listing.content.split("\n").sort(), ["[DIR] docs", "[FILE] notes.txt"]);

        // The exposed name a model uses finds the same tool.
        const read = await resolver.get("files__read_text_file");
        assert.equal(read.name, "files.read_text_file");
        const text = (await read.call({ path: join(root, "docs", "readme.md") }, makeContext())) as { content: string };
        assert.equal(text.content, "# Hello from forager\n");

        // Bad arguments are caught against the server's own schema before the call.
        await assert.rejects(read.call({ path: 42 }, makeContext()), /invalid arguments for tool "files\.read_text_file": \/path: Instance type "number"/);
        // The server refusing a path outside its folder is a tool error with its text.
        await assert.rejects(read.call({ path: "/etc/hostname" }, makeContext()), (err: unknown) => {
          assert.ok(err instanceof ToolError);
          assert.match(err.message, /MCP tool "files\.read_text_file" returned an error: .*outside allowed directories/i);
          return true;
        });
        await assert.rejects(resolver.get("files.read_txt_file"), /unknown tool "files\.read_txt_file" \(did you mean "files\.read_text_file"\?\)/);
      } finally {
        await resolver.close();
      }
      await waitFor("the server process to stop", () => childPids(FILESYSTEM).length === 0);
      await resolver.close();
      await assert.rejects(resolver.get("files.list_directory"), /MCP server "files" is closed/);
    });
  });

  test("concurrent first uses share one server start", async () => {
    await withTempDir(async (dir) => {
      const { resolver } = await setUp(dir);
      try {
        const tools = await Promise.all([
          resolver.get("files.list_directory"),
          resolver.get("files__read_text_file"),
          resolver.resolve(["files.*"]),
        ]);
        assert.equal(tools[0].name, "files.list_directory");
        assert.equal(childPids(FILESYSTEM).length, 1);
      } finally {
        await resolver.close();
      }
      await waitFor("the server process to stop", () => childPids(FILESYSTEM).length === 0);
    });
  });

  test("a long server name gives exposed names cut to 64 characters with a hash", async () => {
    await withTempDir(async (dir) => {
      const server = "a_filesystem_server_with_a_fairly_long_name";
      const { resolver } = await setUp(dir, server);
      try {
        const tool = await resolver.get(`${server}.list_allowed_directories`);
        assert.equal(tool.exposedName.length, 64);
        assert.match(tool.exposedName, EXPOSED_NAME_PATTERN);
        assert.match(tool.exposedName, /^a_filesystem_server_with_a_fairly_long_name__list_allow_[0-9a-f]{8}$/);
        assert.equal((await resolver.get(tool.exposedName)).name, tool.name);
        const result = await tool.call({}, makeContext());
        assert.match(JSON.stringify(result), /Allowed directories/);
      } finally {
        await resolver.close();
      }
    });
  });
});
