/**
 * Scenario 7: the control API refuses requests without the token and does
 * nothing; signatures of any wrong shape are 401 (the constant-time compare
 * itself is measured in test/server/constant-time.test.ts); secrets from the
 * agent file, the environment and
 * request headers never reach a log line, a result, a recording or a
 * session file; shell arguments are passed literally.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { startFakeLlmServer } from "../llm/fake-llm-server.js";
import { deliver, FIXTURES, githubSignature, HOOK_SECRET, recordsOnDisk, startServe, stopHard, walkFiles, type ServeProcess } from "./helpers.js";
import { waitFor } from "../helpers/wait.js";
import type { StatsBody } from "../helpers/api-types.js";

const CONTROL_TOKEN = "ctl-token-reliability-5d1e8b2a9c";
const HEADER_SECRET = "hdr-bearer-secret-0a9b8c7d6e";
const HEADER_API_KEY = "hdr-api-key-secret-1f2e3d4c5b";
const LLM_KEY = "sk-llm-key-secret-9z8y7x6w5v";

describe("security", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let serve: ServeProcess | undefined;
  before(async () => {
    dir = await tempDir("forager-rel-security-");
    serve = await startServe(join(dir.path, "storage"), { env: { FORAGER_TOKEN: CONTROL_TOKEN, TICK_SECONDS: "3600", LOG_LEVEL: "debug" } });
  });
  after(async () => {
    await stopHard(serve);
    await dir.cleanup();
  });

  test("control API without a token or with a wrong one is 401 and does nothing", async () => {
    const s = serve!;
    const requests: Array<[string, string, string?]> = [
      ["GET", "/stats"],
      ["GET", "/metrics"],
      ["GET", "/executions"],
      ["GET", "/events"],
      ["POST", "/entry-points/api/trigger", JSON.stringify({ input: { n: 1 } })],
      ["POST", "/agents/loadtest/entry-points/api/trigger", JSON.stringify({ input: { n: 2 } })],
      ["POST", "/timers/pause"],
      ["POST", "/executions/exec_01ABCDEF/cancel"],
    ];
    const badAuth = [
      undefined,
      "",
      "Bearer",
      "Bearer ",
      "Bearer wrong-token",
      `Bearer ${CONTROL_TOKEN.slice(0, -1)}`,
      `Bearer ${CONTROL_TOKEN}x`,
      `Basic ${Buffer.from(`user:${CONTROL_TOKEN}`).toString("base64")}`,
      CONTROL_TOKEN,
    ];
    for (const [method, path, body] of requests) {
      for (const auth of badAuth) {
        const controller = new AbortController();
        const res = await fetch(`${s.info.url}${path}`, {
          method,
          headers: { "content-type": "application/json", ...(auth === undefined ? {} : { authorization: auth }) },
          body,
          signal: controller.signal,
        });
        assert.equal(res.status, 401, `${method} ${path} with ${JSON.stringify(auth)}`);
        await res.text().catch(() => controller.abort());
      }
    }
    assert.equal((await fetch(`${s.info.url}/health`)).status, 200, "/health needs no token");
    const stats = (await (await s.control("/stats")).json()) as StatsBody;
    assert.equal(stats.timers_paused, false, "the refused pause did nothing");
    const counts = stats.streams["loadtest/api"]!.status_counts;
    assert.equal(counts.queued + counts.running + counts.completed + counts.failed + counts.cancelled, 0, "the refused triggers did nothing");
  });

  test("signatures of the wrong length or shape are 401, never 500", async () => {
    const body = JSON.stringify({ action: "opened" });
    const good = githubSignature(HOOK_SECRET, body);
    const shapes = [good.slice(0, -2), `${good}00`, "sha256=", "sha256=zz", "sha1=" + good.slice(7), good.toUpperCase(), "", `sha256=${"0".repeat(64)}`, good.slice(7)];
    for (const [i, signature] of shapes.entries()) {
      const res = await fetch(`${serve!.info.webhook_url}/webhooks/github`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-github-delivery": `shape-${i}`, "x-hub-signature-256": signature },
        body,
      });
      assert.equal(res.status, 401, `signature ${JSON.stringify(signature)}`);
    }
  });

  test("secrets from the agent file, env and headers never appear in logs, results, recordings or session files", async () => {
    const s = serve!;
    // Webhooks carrying secret headers, and a trigger.
    for (let i = 0; i < 5; i++) {
      const r = await deliver(s.info.webhook_url!, `secret-${i}`, { action: "opened", sleep_ms: 1 }, {
        headers: { authorization: `Bearer ${HEADER_SECRET}`, "x-api-key": HEADER_API_KEY },
      });
      assert.equal(r.status, 202);
    }
    const bad = await deliver(s.info.webhook_url!, "secret-bad", { action: "opened" }, { secret: "wrong", headers: { authorization: `Bearer ${HEADER_SECRET}` } });
    assert.equal(bad.status, 401);
    const triggered = await s.control("/entry-points/api/trigger", { method: "POST", body: JSON.stringify({ input: { sleep_ms: 1 }, wait: true }) });
    assert.equal(triggered.status, 200);
    const triggerBody = await triggered.text();
    await waitFor("the webhook executions", () => ([...recordsOnDisk(s.storage).values()].filter((r) => r.status === "completed").length >= 6 ? true : undefined));
    const stats = await (await s.control("/stats")).text();
    s.kill("SIGTERM");
    assert.equal((await s.exited).code, 0);

    // A run with a real provider (fake server), its API key from the env, recorded to a file.
    const llm = await startFakeLlmServer();
    const recording = join(dir.path, "recording.jsonl");
    let run;
    try {
      llm.reply({ tool_calls: [{ name: "set_output", arguments: { key: "answer", value: "42" } }] }, { text: "done" });
      run = await runCli(["run", join(FIXTURES, "llm-flaky.yaml"), "--input", '{"question":"why"}', "--json", "--record", recording, "--storage", join(dir.path, "run-storage"), "-v"], {
        env: { LLM_BASE_URL: llm.baseUrl, LLM_API_KEY: LLM_KEY, LOG_LEVEL: "debug" },
        timeoutMs: 30_000,
      });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(llm.requests[0]!.headers.authorization, `Bearer ${LLM_KEY}`, "the key did reach the provider");
    } finally {
      await llm.close();
    }
    assert.ok(existsSync(recording));

    const secrets = { control_token: CONTROL_TOKEN, webhook_secret: HOOK_SECRET, header_bearer: HEADER_SECRET, header_api_key: HEADER_API_KEY, llm_api_key: LLM_KEY };
    const texts: Array<[string, string]> = [
      ["serve stderr", s.stderr()],
      ["serve stdout", s.stdout()],
      ["trigger response", triggerBody],
      ["stats", stats],
      ["run stdout", run.stdout],
      ["run stderr", run.stderr],
    ];
    for (const file of walkFiles(dir.path)) {
      if (file.endsWith("serve.json")) continue; // holds the token by design (mode 0600); removed on exit anyway
      texts.push([file, readFileSync(file, "utf8")]);
    }
    assert.ok(texts.length > 15, `files written: ${texts.length}`);
    const leaks: string[] = [];
    for (const [where, text] of texts) {
      for (const [name, value] of Object.entries(secrets)) if (text.includes(value)) leaks.push(`${name} in ${where}`);
    }
    assert.deepEqual(leaks, []);
  });
});

describe("shell tool arguments", () => {
  test("an argument with `; rm -rf`, `$(...)` and backticks is passed literally", async () => {
    const dir = await tempDir("forager-rel-shell-args-");
    try {
      const canary = join(dir.path, "canary");
      const args = [
        `x; rm -rf ${dir.path}/keep; touch ${canary}1`,
        `$(touch ${canary}2)`,
        `\`touch ${canary}3\``,
        `a && touch ${canary}4 | cat > ${canary}5`,
        `'; touch ${canary}6; echo '`,
      ];
      for (const arg of args) {
        const result = await runCli(["run", join(FIXTURES, "shell-echo.yaml"), "--input", JSON.stringify({ arg }), "--json", "--storage", join(dir.path, "storage")]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(JSON.parse(result.stdout).output.result.stdout, arg);
      }
      for (let i = 1; i <= 6; i++) assert.equal(existsSync(`${canary}${i}`), false, `canary ${i} was not created`);
    } finally {
      await dir.cleanup();
    }
  });
});
