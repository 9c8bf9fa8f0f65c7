import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { createToolResolver } from "../../src/tools/registry.js";
import { makeAgent, makeContext } from "../tools/helpers.js";
import { serverEntry } from "./helpers.js";

let child: ChildProcess;
let url: string;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

// server-everything's streamableHttp transport listens on $PORT (default
// 3001) and serves MCP at /mcp; it says so on stderr once listening.
before(async () => {
  const port = await freePort();
  child = spawn(process.execPath, [serverEntry("@modelcontextprotocol/server-everything"), "streamableHttp"], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`server-everything did not start: ${seen}`)), 20_000);
    child.stderr!.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(`listening on port ${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server-everything exited with ${code}: ${seen}`));
    });
  });
  child.stderr!.resume();
  url = `http://127.0.0.1:${port}/mcp`;
});

after(async () => {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
});

describe("MCP over streamable HTTP with server-everything", () => {
  test("calls echo, get-sum and a structured-content tool", async () => {
    const resolver = createToolResolver(makeAgent({ mcp_servers: { everything: { url, timeout_seconds: 20 } } }, process.cwd()));
    try {
      const tools = await resolver.resolve(["everything.*"]);
      assert.ok(tools.some((tool) => tool.name === "everything.echo"));

      const echo = await resolver.get("everything__echo");
      assert.equal(await echo.call({ message: "hello over http" }, makeContext()), "Echo: hello over http");

      const sum = await resolver.get("everything.get-sum");
      assert.equal(sum.exposedName, "everything__get-sum");
      assert.equal(await sum.call({ a: 2, b: 40 }, makeContext()), "The sum of 2 and 40 is 42.");

      const weather = await resolver.get("everything.get-structured-content");
      const result = (await weather.call({ location: "Chicago" }, makeContext())) as Record<string, unknown>;
      assert.equal(typeof result.temperature, "number");
      assert.equal(typeof result.conditions, "string");

      await assert.rejects(sum.call({ a: "two", b: 40 }, makeContext()), /invalid arguments for tool "everything\.get-sum": \/a:/);
    } finally {
      await resolver.close();
    }
  });
});
