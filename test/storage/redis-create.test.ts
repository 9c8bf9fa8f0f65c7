import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createIngestLog, createKeyStore, createSessionStore, createStateStore } from "../../src/storage/create.js";
import { RedisLink } from "../../src/storage/redis/connection.js";
import { RedisIngestLog } from "../../src/storage/redis/ingest-log.js";
import { RedisKeyStore } from "../../src/storage/redis/keys.js";
import { RedisSessionStore } from "../../src/storage/redis/sessions.js";
import { RedisStateStore } from "../../src/storage/redis/state.js";
import { redisSkip, useRedis } from "../helpers/redis-server.js";
import { makeRecord } from "./helpers.js";

test("backend redis without a URL anywhere is the clear redis_url_missing error, at creation", () => {
  assert.throws(() => createSessionStore({ backend: "redis" }, { env: {} }), (err: unknown) => (err as { code?: string }).code === "redis_url_missing");
});

describe("createXStore with backend redis", { skip: redisSkip() }, () => {
  const redis = useRedis();

  test("a shared link: every store is the Redis one, on that link, and nothing connects until used", async () => {
    const link = new RedisLink({ url: redis.url, prefix: "create-shared" });
    try {
      const config = { backend: "redis" as const, session_retention: { max_age: 120, max_sessions: 10 } };
      const sessions = createSessionStore(config, { link, storagePath: "/nonexistent" });
      assert.ok(sessions instanceof RedisSessionStore);
      assert.ok(createStateStore(config, { link }) instanceof RedisStateStore);
      assert.ok(createKeyStore(config, { link }) instanceof RedisKeyStore);
      assert.ok(createIngestLog(config, { link }) instanceof RedisIngestLog);
      await sessions.save(makeRecord(1));
      const client = await link.commands();
      const ttl = await client.ttl("create-shared:exec:exec_0001");
      assert.ok(ttl > 100 && ttl <= 120, `session_retention.max_age is the finished record's TTL (${ttl})`);
    } finally {
      await link.close();
    }
  });

  test("no link: the URL and prefix come from the config or FORAGER_REDIS_URL, and the store owns its link", async () => {
    const keys = createKeyStore({ backend: "redis", redis_prefix: "create-own" }, { env: { FORAGER_REDIS_URL: redis.url } });
    await keys.set("ns", "k", "v");
    const sessions = createSessionStore({ backend: "redis", redis_url: redis.url, redis_prefix: "create-own" }, { env: {} });
    await sessions.save(makeRecord(2));
    const reader = new RedisLink({ url: redis.url, prefix: "x" });
    try {
      assert.equal(await (await reader.commands()).get("create-own:key:ns:k"), "v");
      assert.equal(JSON.parse((await (await reader.commands()).get("create-own:exec:exec_0002"))!).execution_id, "exec_0002");
    } finally {
      await reader.close();
      await keys.close?.();
      await sessions.close?.();
    }
  });
});
