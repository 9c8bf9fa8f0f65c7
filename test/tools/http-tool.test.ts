import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createToolResolver } from "../../src/tools/registry.js";
import { ToolError } from "../../src/tools/types.js";
import { makeAgent, makeContext } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const path = new URL(req.url!, "http://x").pathname;
      if (path === "/json") {
        res.writeHead(200, { "content-type": "application/json; charset=utf-8", "X-Trace": "abc" });
        res.end(JSON.stringify({ ok: true, echo: body ? JSON.parse(body) : null }));
      } else if (path === "/text") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("plain words");
      } else if (path === "/big-json") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ items: "y".repeat(5000) }));
      } else if (path === "/slow") {
        const timer = setTimeout(() => res.end("late"), 10_000);
        res.on("close", () => clearTimeout(timer));
      } else {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("no such page");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  assert.fail("expected the call to fail");
}

function agentWith(tools: Record<string, unknown>) {
  return makeAgent({ tools }, process.cwd());
}

describe("http tool", () => {
  test("GET renders url, query and headers from args and scope; JSON is parsed", async () => {
    const resolver = createToolResolver(
      agentWith({
        search: {
          type: "http",
          url: `${base}/{{ args.page }}`,
          query: { q: "{{ args.q }}", n: "{{ args.n }}", skip: "{{ args.missing_ok }}", tag: ["a b", "c&d"] },
          headers: { Authorization: "Bearer {{ args.token }}", "X-Execution": "{{ execution.id }}" },
        },
      }),
    );
    const tool = await resolver.get("search");
    const result = (await tool.call(
      { page: "json", q: "café & tea=1", n: 3, token: "t0k", missing_ok: null },
      makeContext(),
    )) as { status: number; headers: Record<string, string>; body: unknown };
    assert.equal(result.status, 200);
    assert.deepEqual(result.body, { ok: true, echo: null });
    assert.equal(result.headers["x-trace"], "abc");
    const request = seen.at(-1)!;
    assert.equal(request.method, "GET");
    const query = new URL(request.url, base).searchParams;
    assert.equal(query.get("q"), "café & tea=1");
    assert.equal(query.get("n"), "3");
    assert.deepEqual(query.getAll("tag"), ["a b", "c&d"]);
    assert.ok(!request.url.includes(" "), "query is URL-encoded");
    assert.equal(request.headers.authorization, "Bearer t0k");
    assert.equal(request.headers["x-execution"], "exec-1");
  });

  test("POST sends an object body as JSON, a string body as text", async () => {
    const resolver = createToolResolver(
      agentWith({
        post_json: { type: "http", method: "POST", url: `${base}/json`, body: { title: "{{ args.title }}", count: "{{ args.count }}" } },
        post_text: { type: "http", method: "POST", url: `${base}/text`, body: "hello {{ args.who }}" },
      }),
    );
    const json = (await (await resolver.get("post_json")).call({ title: "Bug", count: 2 }, makeContext())) as { body: unknown };
    assert.deepEqual(json.body, { ok: true, echo: { title: "Bug", count: 2 } });
    assert.equal(seen.at(-1)!.headers["content-type"], "application/json");

    const text = (await (await resolver.get("post_text")).call({ who: "you" }, makeContext())) as { body: unknown };
    assert.equal(text.body, "plain words");
    assert.equal(seen.at(-1)!.body, "hello you");
    assert.match(seen.at(-1)!.headers["content-type"]!, /^text\/plain/);
  });

  test("a status of 400 or more is a ToolError carrying the response", async () => {
    const tool = await createToolResolver(agentWith({ page: { type: "http", url: `${base}/missing?token=secret` } })).get("page");
    const err = await rejection(tool.call({}, makeContext()));
    assert.ok(err instanceof ToolError);
    assert.match(err.message, /HTTP 404 from GET http:\/\/127\.0\.0\.1:\d+\/missing: no such page/);
    assert.ok(!err.message.includes("secret"), "query strings stay out of messages");
    assert.equal((err.result as { status: number }).status, 404);
    assert.equal((err.result as { body: unknown }).body, "no such page");
  });

  test("a body beyond max_output_bytes is cut text with a marker, even when JSON", async () => {
    const tool = await createToolResolver(agentWith({ big: { type: "http", url: `${base}/big-json`, max_output_bytes: 100 } })).get("big");
    const result = (await tool.call({}, makeContext())) as { body: string; truncated?: boolean };
    assert.equal(typeof result.body, "string");
    assert.ok(result.body.startsWith('{"items":"yyy'));
    assert.match(result.body, /…\[truncated 4912 bytes\]$/);
    assert.equal(result.truncated, true);
  });

  test("a timeout is a ToolError that says so", async () => {
    const tool = await createToolResolver(agentWith({ slow: { type: "http", url: `${base}/slow`, timeout_seconds: 0.2 } })).get("slow");
    const err = await rejection(tool.call({}, makeContext()));
    assert.ok(err instanceof ToolError);
    assert.match(err.message, /GET http:\/\/127\.0\.0\.1:\d+\/slow timed out after 0\.2s/);
  });

  test("aborting the call aborts the request with the abort reason", async () => {
    const tool = await createToolResolver(agentWith({ slow: { type: "http", url: `${base}/slow` } })).get("slow");
    const controller = new AbortController();
    const before = seen.length;
    const call = tool.call({}, makeContext({ signal: controller.signal }));
    await waitFor("the request to reach the server", () => seen.length > before, { stepMs: 10 });
    controller.abort(new Error("stop now"));
    const err = await rejection(call);
    assert.equal(err.message, "stop now");
  });

  test("a refused connection is a ToolError naming the request", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const tool = await createToolResolver(agentWith({ down: { type: "http", url: `http://127.0.0.1:${port}/x` } })).get("down");
    const err = await rejection(tool.call({}, makeContext()));
    assert.ok(err instanceof ToolError);
    assert.match(err.message, /request GET http:\/\/127\.0\.0\.1:\d+\/x failed: .*ECONNREFUSED/);
  });
});
