import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { RedisLink } from "../../src/storage/redis/connection.js";
import { RedisSessionStore } from "../../src/storage/redis/sessions.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { redisSkip, useRedis } from "../helpers/redis-server.js";
import { makeEvent, makeRecord } from "../storage/helpers.js";

/** An agent file that keeps its sessions in the cluster's Redis. */
const AGENT = (url: string, prefix: string) => `name: echo
graph:
  nodes:
    - id: say
      type: tool
      tool: echo
      args: { text: "hi" }
tools:
  echo:
    type: shell
    description: echoes
    command: ["echo", "{{ args.text }}"]
runtime:
  backend: redis
  redis_url: ${url}
  redis_prefix: ${prefix}
`;

describe("forager sessions against Redis", { skip: redisSkip() }, () => {
  const redis = useRedis();
  let link: RedisLink;
  let dir: { path: string; cleanup: () => Promise<void> };
  const prefix = `cli-sessions-${process.pid}`;

  before(async () => {
    dir = await tempDir();
    link = redis.link(prefix);
    const store = new RedisSessionStore(link);
    const failed = makeRecord(2, { status: "failed", success: false, error: { code: "node_failed", message: "boom", node_id: "classify" } });
    await store.save(makeRecord(1));
    await store.save(failed);
    await store.save(makeRecord(3, { agent: "other", status: "running" }));
    await store.appendEvents("triage", failed.session_id, [makeEvent(failed, "execution_started", 1), makeEvent(failed, "execution_failed", 2)]);
    await store.flush();
  });
  after(async () => {
    await dir?.cleanup();
  });

  const env = () => ({ FORAGER_REDIS_URL: redis.url, FORAGER_REDIS_PREFIX: prefix, FORAGER_STORAGE: undefined });

  test("with FORAGER_REDIS_URL and no agent file: list --json reads what a RedisSessionStore wrote, and exits", async () => {
    const all = await runCli(["sessions", "list", "--json"], { cwd: dir.path, env: env(), timeoutMs: 20_000 });
    assert.equal(all.code, 0, all.stderr);
    const rows = JSON.parse(all.stdout) as { execution_id: string; status: string }[];
    assert.deepEqual(rows.map((r) => r.execution_id), ["exec_0003", "exec_0002", "exec_0001"]);
    const failed = await runCli(["sessions", "list", "--json", "--status", "failed"], { cwd: dir.path, env: env() });
    assert.deepEqual(JSON.parse(failed.stdout).map((r: { execution_id: string }) => r.execution_id), ["exec_0002"]);
    const limited = await runCli(["sessions", "list", "--json", "--agent", "triage", "--limit", "1"], { cwd: dir.path, env: env() });
    assert.deepEqual(JSON.parse(limited.stdout).map((r: { execution_id: string }) => r.execution_id), ["exec_0002"]);
  });

  test("show --json gives the record and its events; a session id shows its newest execution", async () => {
    const shown = await runCli(["sessions", "show", "exec_0002", "--json"], { cwd: dir.path, env: env() });
    assert.equal(shown.code, 0, shown.stderr);
    const result = JSON.parse(shown.stdout) as { status: string; events: { type: string }[] };
    assert.equal(result.status, "failed");
    assert.deepEqual(result.events.map((e) => e.type), ["execution_started", "execution_failed"]);
    const bySession = await runCli(["sessions", "show", "session_20260101_0001", "--json"], { cwd: dir.path, env: env() });
    assert.equal(JSON.parse(bySession.stdout).execution_id, "exec_0001");
    const missing = await runCli(["sessions", "show", "exec_nope"], { cwd: dir.path, env: env() });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no execution or session "exec_nope" in Redis redis:\/\/127\.0\.0\.1:\d+\/0 \(prefix cli-sessions-/);
  });

  test("with runtime.backend: redis in the agent file (--agent-file); prune --dry-run names what it would remove", async () => {
    const file = join(dir.path, "echo.yaml");
    await writeFile(file, AGENT(redis.url, prefix));
    const listed = await runCli(["sessions", "list", "--json", "--agent-file", file], { cwd: dir.path, env: { FORAGER_REDIS_URL: undefined } });
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(JSON.parse(listed.stdout).length, 3);
    const dry = await runCli(["sessions", "prune", "--keep", "1", "--dry-run", "--json", "--agent-file", file], { cwd: dir.path, env: { FORAGER_REDIS_URL: undefined } });
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(JSON.parse(dry.stdout), { removed: ["triage/session_20260101_0001"], kept: 2, dry_run: true });
    assert.equal((await new RedisSessionStore(link).list()).length, 3, "a dry run removes nothing");
  });

  test("a Redis that is down: one clear line, a non-zero exit, no stack, promptly", async () => {
    const started = Date.now();
    const down = await runCli(["sessions", "list"], { cwd: dir.path, env: { FORAGER_REDIS_URL: "redis://127.0.0.1:1/0" }, timeoutMs: 20_000 });
    assert.notEqual(down.code, 0);
    const lines = down.stderr.trim().split("\n");
    assert.equal(lines.length, 1, down.stderr);
    assert.match(lines[0]!, /^error: cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/0/);
    assert.doesNotMatch(down.stderr, /\n\s+at /);
    assert.ok(Date.now() - started < 15_000, `exited in ${Date.now() - started} ms`);
  });
});
