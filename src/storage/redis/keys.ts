/**
 * Remembered keys in Redis (DISTRIBUTED.md 4.3): one string per key,
 * `<prefix>:key:<namespace>:<key>`, its TTL Redis' own. Every call is
 * atomic across processes: `putIfAbsent` is one `SET NX GET`, the
 * conditional calls are Lua. Transient claims are written like any other:
 * the copy racing ours may run in another process.
 */
import type { KeyStore } from "../types.js";
import type { RedisLink } from "./connection.js";
import { StoreLink } from "./store-link.js";
import { withRedis } from "./errors.js";
import { LuaScript, ttlMs } from "./script.js";

// KEYS[1] key; ARGV: expected, value, ttl ms ("" = none).
const COMPARE_AND_SET = new LuaScript(`
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == "" then redis.call("SET", KEYS[1], ARGV[2])
else redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3]) end
return 1
`);

// KEYS[1] key; ARGV[1] expected.
const DELETE_IF_VALUE = new LuaScript(`
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("DEL", KEYS[1])
return 1
`);

export class RedisKeyStore implements KeyStore {
  private readonly held: StoreLink;

  /** `ownsLink`: close() closes the link (and a fresh one serves later calls). */
  constructor(link: RedisLink, options: { ownsLink?: boolean } = {}) {
    this.held = new StoreLink(link, options.ownsLink);
  }

  private get link(): RedisLink {
    return this.held.link;
  }

  close(): Promise<void> {
    return this.held.close();
  }

  /** The Redis key of a remembered key. */
  redisKey(namespace: string, key: string): string {
    return this.link.key("key", namespace, key);
  }

  /** `transient` changes nothing here: a claim in Redis is what other processes race against. */
  putIfAbsent(namespace: string, key: string, value: string, ttlSeconds: number, _options?: { transient?: boolean }): Promise<{ existing?: string }> {
    return withRedis(this.link, "remembering a key", async (client) => {
      const ms = ttlMs(ttlSeconds);
      const args: (string | number)[] = [this.redisKey(namespace, key), value, ...(ms === undefined ? [] : ["PX", ms]), "NX", "GET"];
      const existing = (await client.call("SET", ...args)) as string | null;
      return existing === null ? {} : { existing };
    });
  }

  get(namespace: string, key: string): Promise<string | undefined> {
    return withRedis(this.link, "reading a key", async (client) => (await client.get(this.redisKey(namespace, key))) ?? undefined);
  }

  set(namespace: string, key: string, value: string, ttlSeconds?: number): Promise<void> {
    return withRedis(this.link, "writing a key", async (client) => {
      const ms = ttlMs(ttlSeconds);
      if (ms === undefined) await client.set(this.redisKey(namespace, key), value);
      else await client.set(this.redisKey(namespace, key), value, "PX", ms);
    });
  }

  compareAndSet(namespace: string, key: string, expected: string, value: string, ttlSeconds?: number): Promise<boolean> {
    return withRedis(this.link, "replacing a key", async (client) => {
      const ms = ttlMs(ttlSeconds);
      const done = await COMPARE_AND_SET.run(client, [this.redisKey(namespace, key)], [expected, value, ms === undefined ? "" : ms]);
      return done === 1;
    });
  }

  delete(namespace: string, key: string): Promise<void> {
    return withRedis(this.link, "deleting a key", async (client) => {
      await client.del(this.redisKey(namespace, key));
    });
  }

  deleteIfValue(namespace: string, key: string, expected: string): Promise<boolean> {
    return withRedis(this.link, "deleting a key", async (client) => (await DELETE_IF_VALUE.run(client, [this.redisKey(namespace, key)], [expected])) === 1);
  }
}
