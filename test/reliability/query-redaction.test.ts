/**
 * Query strings of webhooks are not stored or streamed verbatim: values of
 * parameters whose names say secret (token, key, sig, auth, ...) are
 * "[REDACTED]" in the event on disk and on `GET /events`; others are kept.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { tempDir } from "../helpers/cli.js";
import { githubSignature, HOOK_SECRET, startServe, stopHard, walkFiles, type ServeProcess } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";

const SECRETS = ["tok-5f1c9e2a", "acc-7b3d11f0", "sig-0c8e44aa", "key-a9d2e6b1", "pw-3e7f9c20", "auth-66c1d0e4"];

describe("secret query parameters are redacted", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let serve: ServeProcess | undefined;
  before(async () => {
    dir = await tempDir("forager-rel-query-");
    serve = await startServe(dir.path, { env: { TICK_SECONDS: "3600", LOG_LEVEL: "info" } });
  });
  after(async () => {
    await stopHard(serve);
    await dir.cleanup();
  });

  test("in the stored event and on the event stream", async () => {
    const s = serve!;
    const abort = new AbortController();
    const stream = await s.control("/events?types=webhook_received", { signal: abort.signal });
    assert.equal(stream.status, 200);
    let text = "";
    const reading = (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true });
      } catch {
        // aborted at the end
      }
    })();
    const query = `token=${SECRETS[0]}&Access_Token=${SECRETS[1]}&sig=${SECRETS[2]}&API_KEY=${SECRETS[3]}&password=${SECRETS[4]}&x-auth=${SECRETS[5]}&page=2&page=3&mode=full`;
    const body = JSON.stringify({ action: "opened" });
    const res = await fetch(`${s.info.webhook_url}/webhooks/github?${query}`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", "x-github-delivery": "query-1", "x-hub-signature-256": githubSignature(HOOK_SECRET, body) },
    });
    assert.equal(res.status, 202);
    await res.arrayBuffer();
    const streamed = await waitFor("the event on the stream", () => (text.includes("query-1") ? text : undefined), { timeoutMs: 10_000 });
    abort.abort();
    await reading;

    const line = streamed.split("\n").find((l) => l.startsWith("data: ") && l.includes("query-1"))!;
    const event = JSON.parse(line.slice(6));
    assert.deepEqual(event.data.query, {
      token: "[REDACTED]",
      Access_Token: "[REDACTED]",
      sig: "[REDACTED]",
      API_KEY: "[REDACTED]",
      password: "[REDACTED]",
      "x-auth": "[REDACTED]",
      page: ["2", "3"],
      mode: "full",
    });
    // Nowhere on disk (event logs, session events, records) nor in the logs.
    await waitFor("the event's execution recorded", () => (walkFiles(s.storage).some((f) => f.includes("/sessions/")) ? true : undefined), { timeoutMs: 10_000 });
    const leaks: string[] = [];
    for (const file of walkFiles(s.storage)) {
      const content = readFileSync(file, "utf8");
      for (const secret of SECRETS) if (content.includes(secret)) leaks.push(`${file}: ${secret}`);
    }
    for (const secret of SECRETS) if (s.stderr().includes(secret) || streamed.includes(secret)) leaks.push(`log or stream: ${secret}`);
    assert.deepEqual(leaks, []);
    const ingest = walkFiles(s.storage).filter((f) => f.includes("/_events/"));
    assert.ok(ingest.length > 0 && ingest.some((f) => readFileSync(f, "utf8").includes('"mode":"full"')), "the event with its other parameters is stored");
  });
});
