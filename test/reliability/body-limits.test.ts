/**
 * Wrong status for big and deep bodies (SPEC 5): a body over the limit is a
 * 413 the sender actually reads (never EPIPE/ECONNRESET), on both
 * listeners, whether the length is declared or the body is streamed; JSON
 * nested deeper than 64 levels is a 400 on both listeners, and never a 500
 * or a stack trace in the log.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tempDir } from "../helpers/cli.js";
import { deliver, githubSignature, HOOK_SECRET, logLines, startServe, stopHard, type ServeProcess } from "./helpers.js";
import type { ErrorBody, StatsBody } from "../helpers/api-types.js";

const MB = 1024 * 1024;

/** A body of `size` bytes as a stream without a declared length (chunked). */
function streamed(size: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(chunk.length, size - sent);
      sent += n;
      controller.enqueue(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

function nested(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

describe("big and deep bodies against serve", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let serve: ServeProcess | undefined;
  before(async () => {
    dir = await tempDir("forager-rel-bodies-");
    serve = await startServe(dir.path, { env: { TICK_SECONDS: "3600", LOG_LEVEL: "info" } });
  });
  after(async () => {
    await stopHard(serve);
    await dir.cleanup();
  });

  test("over the limit: 413 every time at 2, 5 and 30 MB on both listeners, declared or streamed", async () => {
    const s = serve!;
    const problems: string[] = [];
    const counts: Record<string, number> = {};
    const attempt = async (label: string, send: () => Promise<Response>) => {
      try {
        const res = await send();
        const body = (await res.json()) as Partial<ErrorBody>;
        if (res.status !== 413 || body?.error?.code !== "payload_too_large") problems.push(`${label}: ${res.status} ${JSON.stringify(body)}`);
        else counts[label] = (counts[label] ?? 0) + 1;
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        problems.push(`${label}: ${(err as Error).message} ${cause?.code ?? cause?.message ?? ""}`);
      }
    };
    for (const size of [2 * MB, 5 * MB, 30 * MB]) {
      const payload = Buffer.alloc(size, 0x61);
      for (let round = 0; round < 3; round++) {
        await attempt(`control ${size / MB} MB declared`, () =>
          s.control("/entry-points/api/trigger", { method: "POST", body: payload, headers: { "content-type": "application/json" } }),
        );
        await attempt(`webhook ${size / MB} MB declared`, () =>
          fetch(`${s.info.webhook_url}/webhooks/github`, {
            method: "POST",
            body: payload,
            headers: { "content-type": "application/json", "x-hub-signature-256": githubSignature(HOOK_SECRET, payload) },
          }),
        );
      }
      await attempt(`control ${size / MB} MB streamed`, () =>
        s.control("/entry-points/api/trigger", { method: "POST", body: streamed(size), duplex: "half", headers: { "content-type": "application/json" } } as RequestInit),
      );
      await attempt(`webhook ${size / MB} MB streamed`, () =>
        fetch(`${s.info.webhook_url}/webhooks/github`, { method: "POST", body: streamed(size), duplex: "half", headers: { "content-type": "application/json" } } as RequestInit),
      );
    }
    console.log(`# body-limits: 413 counts ${JSON.stringify(counts)}`);
    assert.deepEqual(problems, []);
    // Nothing was started by a refused body, and the listeners still work.
    const stats = (await (await s.control("/stats")).json()) as StatsBody;
    const counts2 = stats.streams["loadtest/api"]!.status_counts;
    assert.equal(counts2.queued + counts2.running + counts2.completed, 0);
    assert.equal((await deliver(s.info.webhook_url!, "after-413", { action: "opened" })).status, 202);
  });

  test("JSON deeper than 64 levels is 400 on both listeners; 64 levels pass; no 500, no stack trace", async () => {
    const s = serve!;
    for (const depth of [65, 3_000, 10_000]) {
      // input is level 2: the body reaches `depth` levels.
      const body = `{"input":{"deep":${nested(depth - 2)}}}`;
      const trigger = await s.control("/entry-points/api/trigger", { method: "POST", body, headers: { "content-type": "application/json" } });
      const triggerBody = (await trigger.json()) as ErrorBody;
      assert.equal(trigger.status, 400, `trigger at ${depth}: ${JSON.stringify(triggerBody)}`);
      assert.match(triggerBody.error.message, /deeper than 64/);

      const hook = await deliver(s.info.webhook_url!, `deep-${depth}`, undefined, { rawBody: nested(depth) });
      assert.equal(hook.status, 400, `webhook at ${depth}: ${JSON.stringify(hook.body)}`);
      assert.equal(hook.body.error?.code, "invalid_json");
    }
    // Brackets inside strings do not count; exactly 64 levels is accepted.
    const inString = await deliver(s.info.webhook_url!, "deep-in-string", { text: "[".repeat(5_000) });
    assert.equal(inString.status, 202);
    const atLimit = await deliver(s.info.webhook_url!, "deep-64", undefined, { rawBody: nested(64) });
    assert.equal(atLimit.status, 202, JSON.stringify(atLimit.body));
    const trigger64 = await s.control("/entry-points/api/trigger", { method: "POST", body: `{"input":{"deep":${nested(62)}}}` });
    assert.equal(trigger64.status, 202);
    await trigger64.arrayBuffer();

    const bad = logLines(s.stderr()).filter((l) => l.level === "error" || l.level === "fatal" || l.raw !== undefined || JSON.stringify(l).includes("RangeError"));
    assert.deepEqual(bad, []);
  });
});
