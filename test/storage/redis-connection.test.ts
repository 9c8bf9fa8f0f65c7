import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  RedisLink,
  RedisUnavailableError,
  isRedisUnavailable,
  openRedis,
  redactRedisUrl,
  redisSettings,
} from "../../src/storage/redis/connection.js";
import { redisSkip, useRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait.js";

describe("redis settings", () => {
  test("the URL comes from redis_url, else FORAGER_REDIS_URL; the prefix defaults to forager", () => {
    assert.deepEqual(redisSettings({ redis_url: "redis://a:6379/0" }, {}), { url: "redis://a:6379/0", prefix: "forager" });
    assert.deepEqual(redisSettings({ redis_prefix: "team" }, { FORAGER_REDIS_URL: "rediss://b:6380" }), {
      url: "rediss://b:6380",
      prefix: "team",
    });
  });

  test("no URL at all is a clear error with what to set", () => {
    assert.throws(
      () => redisSettings({}, {}),
      (err: unknown) =>
        err instanceof Error &&
        (err as { code?: string }).code === "redis_url_missing" &&
        /FORAGER_REDIS_URL/.test((err as { hint?: string }).hint ?? ""),
    );
  });

  test("a URL that is not redis:// is refused, with its password hidden", () => {
    assert.throws(() => redisSettings({}, { FORAGER_REDIS_URL: "http://user:hunter2@x" }), (err: unknown) => {
      const message = (err as Error).message;
      return (err as { code?: string }).code === "invalid_redis_url" && !message.includes("hunter2");
    });
  });

  test("passwords never reach messages", () => {
    assert.equal(redactRedisUrl("redis://default:s3cret@host:6379/0"), "redis://default:***@host:6379/0");
    assert.equal(redactRedisUrl("rediss://s3cret@host"), "rediss://***@host");
    assert.equal(redactRedisUrl("redis://host:6379"), "redis://host:6379");
  });
});

describe("redis connections", { skip: redisSkip() }, () => {
  // Every write on disk before its reply: under everysec a busy machine may postpone the AOF write, and SIGKILL would lose it.
  const redis = useRedis({ args: ["--appendfsync", "always"] });

  test("a link connects on first use and names keys under its prefix", async () => {
    const link = new RedisLink({ url: redis.url, prefix: "conn-test" });
    try {
      assert.equal(link.key("exec", "abc"), "conn-test:exec:abc");
      const client = await link.commands();
      assert.equal(await client.set(link.key("k"), "v"), "OK");
      assert.equal(await (await link.commands()).get("conn-test:k"), "v");
      assert.equal(await link.commands(), client, "one shared connection for commands");
    } finally {
      await link.close();
    }
    await assert.rejects(link.commands(), RedisUnavailableError);
  });

  test("an unreachable Redis is a redis_unavailable error, not a hang", async () => {
    const closedPort = redis.port === 1 ? 2 : 1;
    await assert.rejects(
      openRedis({ url: `redis://127.0.0.1:${closedPort}/0`, prefix: "x" }, "commands", { connectTimeoutMs: 2_000 }),
      (err: unknown) => err instanceof RedisUnavailableError && /127\.0\.0\.1:1|127\.0\.0\.1:2/.test((err as Error).message),
    );
  });

  test("while Redis is away a command fails fast, and the link reconnects by itself when it is back", async () => {
    const link = new RedisLink({ url: redis.url, prefix: "conn-away" });
    try {
      const client = await link.commands();
      await client.set("conn-away:before", "1");
      await redis.kill();
      const failure = await client.get("conn-away:before").then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(failure !== undefined, "a command to a dead Redis must fail");
      assert.ok(isRedisUnavailable(failure), `recognised as unavailable: ${String(failure)}`);
      await redis.restart();
      // The AOF brought the key back, and the same client reconnected on its own.
      const value = await waitFor(
        "the client to reconnect",
        () => client.get("conn-away:before").then((v) => v ?? false, () => false),
        { timeoutMs: 15_000, stepMs: 50 },
      );
      assert.equal(value, "1");
    } finally {
      await link.close();
    }
  });
});
