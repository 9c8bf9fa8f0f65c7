/**
 * What `serve` checks of the cluster's Redis (runtime.backend: redis,
 * SPEC 9): at start, that it answers and what its persistence settings
 * promise for a 202 (an evicting `maxmemory-policy` is refused: BullMQ and
 * forager's records would vanish under memory pressure); while serving, a
 * cheap PING for `GET /health`. The link is this module's own, so the
 * health answer does not depend on which connections the backend happens
 * to hold; it reconnects by itself as every forager connection does.
 */
import type { Logger } from "../logging/index.js";
import { ForagerError, errorMessage } from "../errors.js";
import { RedisLink, redactRedisUrl, type RedisSettings } from "../storage/redis/connection.js";

/** The settings that decide what an accepted (202) trigger or webhook survives. */
export interface RedisGuarantee {
  version?: string;
  appendonly?: string;
  appendfsync?: string;
  maxmemoryPolicy?: string;
  /** Set when CONFIG GET is refused (managed Redis often renames or disables it). */
  configUnreadable?: string;
}

/** What the settings promise, one sentence each; `level` is how loudly to say it. */
export function describeGuarantee(g: RedisGuarantee): { level: "info" | "warn"; message: string }[] {
  if (g.configUnreadable) {
    return [{
      level: "warn",
      message: `cannot read the Redis settings (${g.configUnreadable}); make sure the server runs with appendonly yes, appendfsync always or everysec, and maxmemory-policy noeviction`,
    }];
  }
  const out: { level: "info" | "warn"; message: string }[] = [];
  if (g.appendonly !== "yes") {
    out.push({ level: "warn", message: `Redis runs with appendonly ${g.appendonly ?? "unknown"}: accepted work is lost when redis-server restarts; set appendonly yes` });
  } else if (g.appendfsync === "always") {
    out.push({ level: "info", message: "Redis runs with appendonly yes, appendfsync always: an accepted trigger or webhook survives a crash or power loss of the Redis host" });
  } else if (g.appendfsync === "everysec") {
    out.push({ level: "warn", message: "Redis runs with appendonly yes, appendfsync everysec: an accepted trigger or webhook survives a redis-server crash, but about the last second of it can be lost if the Redis host's OS crashes or loses power; appendfsync always closes that gap" });
  } else {
    out.push({ level: "warn", message: `Redis runs with appendonly yes, appendfsync ${g.appendfsync ?? "unknown"}: the OS decides when the log reaches disk, so an OS crash can lose many seconds of accepted work; use appendfsync always or everysec` });
  }
  return out;
}

/** True for a policy under which Redis deletes keys when memory is full. */
export function isEvictingPolicy(policy: string | undefined): boolean {
  return policy !== undefined && policy !== "noeviction";
}

export class RedisCheck {
  /** Also used by the start-up checks of cluster-mode.ts (the agent-definitions digest). */
  readonly link: RedisLink;

  constructor(private readonly settings: RedisSettings) {
    this.link = new RedisLink(settings);
  }

  get where(): string {
    return redactRedisUrl(this.settings.url);
  }

  /**
   * Waits (bounded) for Redis to answer, reads its persistence settings,
   * logs what they guarantee and refuses an evicting policy. Throws a
   * ForagerError with a one-line message when serve must not start.
   */
  async atStart(logger: Logger, waitMs = 10_000): Promise<RedisGuarantee> {
    const deadline = Date.now() + waitMs;
    let lastError: unknown;
    for (;;) {
      try {
        await this.ping();
        break;
      } catch (err) {
        lastError = err;
        if (Date.now() >= deadline) {
          throw new ForagerError("redis_unavailable", `Redis at ${this.where} does not answer: ${errorMessage(lastError)}`, {
            hint: "start redis-server, or fix runtime.redis_url / FORAGER_REDIS_URL",
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    const guarantee = await this.readSettings();
    const fields = { redis: this.where, redis_version: guarantee.version, appendonly: guarantee.appendonly, appendfsync: guarantee.appendfsync, maxmemory_policy: guarantee.maxmemoryPolicy };
    if (isEvictingPolicy(guarantee.maxmemoryPolicy)) {
      throw new ForagerError(
        "redis_evicts",
        `Redis at ${this.where} runs with maxmemory-policy ${guarantee.maxmemoryPolicy}, which deletes keys when memory is full: queued work and records would be lost`,
        { hint: "set maxmemory-policy noeviction (CONFIG SET maxmemory-policy noeviction, and in redis.conf)" },
      );
    }
    for (const line of describeGuarantee(guarantee)) logger[line.level](fields, line.message);
    return guarantee;
  }

  /** One PING; rejects when Redis is unreachable or slow. */
  async ping(timeoutMs = 2_000): Promise<void> {
    const client = await this.link.commands();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.ping(),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The `/health` check: "ok", or why Redis cannot be used. */
  async health(): Promise<string> {
    try {
      await this.ping();
      return "ok";
    } catch (err) {
      return `redis_unavailable: Redis at ${this.where} does not answer (${errorMessage(err)})`;
    }
  }

  private async readSettings(): Promise<RedisGuarantee> {
    const client = await this.link.commands();
    const guarantee: RedisGuarantee = {};
    try {
      const info = await client.info("server");
      guarantee.version = /redis_version:([^\r\n]+)/.exec(info)?.[1];
    } catch {
      // INFO may be renamed too; the version is only logged.
    }
    try {
      const pairs = (await client.call("CONFIG", "GET", "appendonly", "appendfsync", "maxmemory-policy")) as string[];
      const map = new Map<string, string>();
      for (let i = 0; i + 1 < pairs.length; i += 2) map.set(pairs[i]!, pairs[i + 1]!);
      guarantee.appendonly = map.get("appendonly");
      guarantee.appendfsync = map.get("appendfsync");
      guarantee.maxmemoryPolicy = map.get("maxmemory-policy");
    } catch (err) {
      guarantee.configUnreadable = errorMessage(err);
    }
    return guarantee;
  }

  async close(): Promise<void> {
    await this.link.close();
  }
}
