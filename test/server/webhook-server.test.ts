import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { schemas } from "../../src/config/schema.js";
import { FileKeyStore } from "../../src/storage/keys.js";
import { WebhookServer } from "../../src/server/webhook-server.js";
import { signGithub } from "../../src/server/verify/index.js";
import { FakeRuntime } from "./fake-runtime.js";
import { isSecretQueryName } from "../../src/server/webhook-payload.js";
import type { ErrorBody, WebhookEventData } from "../helpers/api-types.js";

const SECRET = "gh-webhook-secret";
const routes = [
  schemas().WebhookRouteSchema.parse({ source_id: "github", path: "/webhooks/github", secret: SECRET, max_body_bytes: 1_048_576 }),
  schemas().WebhookRouteSchema.parse({ source_id: "internal", path: "/hooks/internal", allow_unsigned: true, methods: ["POST", "PUT"] }),
];

let dir: string;
let runtime: FakeRuntime;
let server: WebhookServer;
let base: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "forager-webhooks-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function start(): Promise<void> {
  runtime = new FakeRuntime();
  server = new WebhookServer({ routes, runtime, keys: new FileKeyStore(await mkdtemp(join(dir, "keys-"))) });
  base = await server.listen("127.0.0.1", 0);
}

function github(payload: unknown, delivery: string, extra: Record<string, string> = {}) {
  const text = JSON.stringify(payload);
  return fetch(`${base}/webhooks/github?x=1&x=2`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "issues",
      "x-github-delivery": delivery,
      "x-hub-signature-256": signGithub(text, SECRET),
      authorization: "Bearer should-not-leak",
      ...extra,
    },
    body: text,
  });
}

describe("webhook server", () => {
  beforeEach(start);
  // Each test closes its own server through this hook.
  const stop = () => server.close(100);

  test("202 after ingest, with the event data of SPEC 5", async (t) => {
    t.after(stop);
    const res = await github({ action: "opened" }, "d-1");
    assert.equal(res.status, 202);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.status, "accepted");
    assert.equal(runtime.ingested.length, 1);
    const init = runtime.ingested[0]!;
    assert.equal(body.event_id, init.id);
    assert.equal((body.executions as string[]).length, 1);
    assert.equal(init.type, "webhook_received");
    assert.equal(init.stream_id, "github");
    const data = init.data as WebhookEventData;
    assert.equal(data.path, "/webhooks/github");
    assert.equal(data.method, "POST");
    assert.equal(data.delivery_id, "d-1");
    assert.deepEqual(data.payload, { action: "opened" });
    assert.deepEqual(data.query, { x: ["1", "2"] });
    assert.equal(isSecretQueryName("Access_Token") && isSecretQueryName("X-Amz-Signature") && !isSecretQueryName("page"), true);
    assert.equal(data.headers["x-github-event"], "issues");
    assert.equal(data.headers["x-hub-signature-256"], undefined);
    assert.equal(data.headers.authorization, undefined);
    for (const name of Object.keys(data.headers)) assert.equal(name, name.toLowerCase());
  });

  test("a redelivery is a 200 duplicate with the first event id and nothing runs", async (t) => {
    t.after(stop);
    const first = (await (await github({ n: 1 }, "d-2")).json()) as { event_id: string };
    const again = await github({ n: 1 }, "d-2");
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), { status: "duplicate", event_id: first.event_id });
    assert.equal(runtime.ingested.length, 1);
    assert.deepEqual(server.stats.snapshot().github, { accepted: 1, rejected: 0, duplicates: 1 });
  });

  test("20 concurrent redeliveries are ingested exactly once", async (t) => {
    t.after(stop);
    runtime.ingestImpl = async (init) => {
      await new Promise((r) => setTimeout(r, 30));
      return { status: "accepted", event: runtime.toEvent(init), executions: ["exec_1"] };
    };
    const responses = await Promise.all(Array.from({ length: 20 }, () => github({ n: 2 }, "d-concurrent")));
    const statuses = responses.map((r) => r.status).sort();
    assert.equal(runtime.ingested.length, 1);
    assert.deepEqual(statuses, [...Array<number>(19).fill(200), 202]);
  });

  test("401 for a missing or wrong signature, and nothing is ingested", async (t) => {
    t.after(stop);
    const missing = await fetch(`${base}/webhooks/github`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(missing.status, 401);
    const wrong = await github({ a: 1 }, "d-3", { "x-hub-signature-256": signGithub("{}", SECRET) });
    assert.equal(wrong.status, 401);
    assert.equal(runtime.ingested.length, 0);
    assert.equal(server.stats.snapshot().github!.rejected, 2);
  });

  test("404 unknown path, 405 with Allow", async (t) => {
    t.after(stop);
    assert.equal((await fetch(`${base}/nope`, { method: "POST", body: "{}" })).status, 404);
    const res = await fetch(`${base}/hooks/internal`, { method: "GET" });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "POST, PUT");
  });

  test("413 for a 2 MB body, and the server keeps answering", async (t) => {
    t.after(stop);
    const big = Buffer.alloc(2 * 1024 * 1024, 0x61);
    const res = await fetch(`${base}/webhooks/github`, { method: "POST", headers: { "content-type": "application/json" }, body: big });
    assert.equal(res.status, 413);
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${base}/hooks/internal`, { method: "POST" }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on("error", reject);
      // No Content-Length: the limit is found while reading.
      for (let i = 0; i < 20; i++) req.write(Buffer.alloc(100 * 1024, 0x62));
      req.end();
    });
    assert.equal(chunked, 413);
    assert.equal((await github({ ok: true }, "d-after-413")).status, 202);
    assert.equal(runtime.ingested.length, 1);
  });

  test("400 for invalid JSON; form and other bodies become objects", async (t) => {
    t.after(stop);
    const bad = await fetch(`${base}/hooks/internal`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as ErrorBody).error.code, "invalid_json");
    await fetch(`${base}/hooks/internal`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "a=1&b=x%20y&a=2" });
    await fetch(`${base}/hooks/internal`, { method: "PUT", headers: { "content-type": "text/plain" }, body: "hello \xff" });
    assert.deepEqual((runtime.ingested[0]!.data as WebhookEventData).payload, { a: ["1", "2"], b: "x y" });
    assert.deepEqual((runtime.ingested[1]!.data as WebhookEventData).payload, { raw_body: "hello \xff" });
    assert.equal((runtime.ingested[1]!.data as WebhookEventData).delivery_id, null);
  });

  test("429 with Retry-After when queues are full; the delivery id is released", async (t) => {
    t.after(stop);
    runtime.ingestImpl = async () => ({ status: "full", retry_after_seconds: 7 });
    const res = await github({ n: 3 }, "d-full");
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), "7");
    runtime.ingestImpl = async (init) => ({ status: "accepted", event: runtime.toEvent(init), executions: [] });
    assert.equal((await github({ n: 3 }, "d-full")).status, 202);
  });

  test("a failed ingest releases the delivery id so the provider's retry runs", async (t) => {
    t.after(stop);
    runtime.ingestImpl = async () => {
      throw new Error("disk full");
    };
    assert.equal((await github({ n: 4 }, "d-fail")).status, 500);
    runtime.ingestImpl = async (init) => ({ status: "accepted", event: runtime.toEvent(init), executions: [] });
    assert.equal((await github({ n: 4 }, "d-fail")).status, 202);
  });

  test("a retry racing a first copy that fails takes over and is ingested; the key is written only once it is final", async (t) => {
    t.after(stop);
    let failFirst!: () => void;
    let firstStarted!: () => void;
    const started = new Promise<void>((resolve) => (firstStarted = resolve));
    runtime.ingestImpl = () => {
      firstStarted();
      return new Promise((_, reject) => (failFirst = () => reject(new Error("disk full"))));
    };
    const first = github({ n: 6 }, "d-race");
    await started;
    runtime.ingestImpl = async (init) => ({ status: "accepted", event: runtime.toEvent(init), executions: [] });
    const retry = github({ n: 6 }, "d-race");
    failFirst();
    assert.equal((await first).status, 500);
    const accepted = (await (await retry).json()) as { status: string; event_id: string };
    assert.equal(accepted.status, "accepted");
    const again = await github({ n: 6 }, "d-race");
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), { status: "duplicate", event_id: accepted.event_id });
  });

  test("503 while draining", async (t) => {
    t.after(stop);
    server.startDraining();
    const res = await github({ n: 5 }, "d-drain");
    assert.equal(res.status, 503);
    assert.equal(runtime.ingested.length, 0);
  });

  test("garbage on the socket and cut bodies get 4xx or a closed socket, never a crash", async (t) => {
    t.after(stop);
    const port = Number(new URL(base).port);
    const raw = (text: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(port, "127.0.0.1", () => socket.write(text));
        let got = "";
        socket.on("data", (d) => (got += d.toString("latin1")));
        socket.on("close", () => resolve(got));
        socket.on("error", () => resolve(got));
        setTimeout(() => socket.destroy(), 500);
      });
    assert.match(await raw("POST /hooks/internal HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"), /^HTTP\/1\.1 400/);
    await raw("POST /hooks/internal HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
    await raw("POST /hooks/internal HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort");
    assert.equal((await github({ alive: true }, "d-alive")).status, 202);
  });

  test("a body that stops arriving gets a 408 once the body time is up", async (t) => {
    t.after(stop);
    const slow = new WebhookServer({ routes, runtime, keys: new FileKeyStore(await mkdtemp(join(dir, "keys-"))), timeouts: { headersMs: 2_000, bodyMs: 300 } });
    const url = await slow.listen("127.0.0.1", 0);
    t.after(() => slow.close(100));
    const started = Date.now();
    const got = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(url).port), "127.0.0.1", () =>
        socket.write("POST /hooks/internal HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort"),
      );
      let data = "";
      const deadline = setTimeout(() => reject(new Error("no answer within 10 s")), 10_000);
      socket.on("data", (d) => (data += d.toString("latin1")));
      socket.on("error", () => undefined);
      socket.on("close", () => {
        clearTimeout(deadline);
        resolve(data);
      });
    });
    assert.match(got, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - started >= 250);
    assert.equal(runtime.ingested.length, 0);
  });
});
