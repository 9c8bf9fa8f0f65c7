/**
 * `GET /events` honours backpressure: a subscriber that stops reading (a raw
 * socket with reading paused) while events are published is dropped once
 * its unsent bytes pass the bound, and the drop is logged; a reading
 * subscriber beside it keeps receiving.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { Writable } from "node:stream";
import { setImmediate as tick } from "node:timers/promises";
import { createLogger } from "../../src/logging/index.js";
import { ControlApi } from "../../src/server/control-api.js";
import { FakeRuntime } from "./fake-runtime.js";
import { waitFor } from "../helpers/wait.js";

const TOKEN = "sse-token-0123456789";
const LIMIT = 256 * 1024;

test("a subscriber that stops reading is dropped once its buffer passes the bound; memory stays bounded", async (t) => {
  const lines: string[] = [];
  const logger = createLogger({ format: "json", level: "warn", destination: new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }) });
  const runtime = new FakeRuntime();
  const api = new ControlApi({ runtime, token: TOKEN, logger, maxStreamBufferBytes: LIMIT });
  const base = await api.listen("127.0.0.1", 0);
  const port = Number(new URL(base).port);
  const stalled = connect({ port, host: "127.0.0.1" });
  t.after(async () => {
    stalled.destroy();
    reader.destroy();
    await api.close(100);
  });
  const request = `GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`;
  stalled.on("connect", () => {
    stalled.write(request);
    // Never read: the kernel buffers fill, then node's, then ours.
    stalled.pause();
  });
  stalled.on("error", () => undefined);
  let readerBytes = 0;
  const reader = connect({ port, host: "127.0.0.1" }, () => reader.write(request));
  reader.on("data", (d: Buffer) => (readerBytes += d.length));
  reader.on("error", () => undefined);

  const deadline = Date.now() + 10_000;
  while (api.eventStreams.open < 2) {
    assert.ok(Date.now() < deadline, "both subscribers connected");
    await tick();
  }
  const subscribersBefore = runtime.subscribers.size;
  const filler = "x".repeat(8 * 1024);
  let published = 0;
  // At most 200 MB: far past what loopback socket buffers hold.
  while (api.eventStreams.dropped === 0 && published < 200 * 1024 * 1024) {
    for (let i = 0; i < 16; i++) {
      runtime.publish({ type: "custom", data: { filler } } as never);
      published += filler.length;
    }
    await tick();
  }
  assert.equal(api.eventStreams.dropped, 1, `dropped after ${published} bytes published`);
  assert.equal(api.eventStreams.open, 1, "the reading subscriber is still connected");
  assert.equal(runtime.subscribers.size, subscribersBefore - 1, "the dropped subscriber is unsubscribed");
  const warn = lines.map((l) => JSON.parse(l)).find((l) => /not reading/.test(l.msg));
  assert.ok(warn, "the drop is logged");
  assert.ok(warn.buffered_bytes > LIMIT && warn.buffered_bytes < LIMIT + 64 * 1024, `buffered ${warn.buffered_bytes} bytes at the drop`);
  // The reader got (nearly) everything.
  await waitFor(`the reader to get all ${published} bytes`, () => readerBytes >= published);
  console.log(`# sse-backpressure: stalled subscriber dropped after ${(published / 1048576).toFixed(1)} MB published, ${warn.buffered_bytes} bytes buffered`);
});
