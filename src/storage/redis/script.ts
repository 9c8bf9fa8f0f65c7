/**
 * Lua scripts run by their SHA (EVALSHA), loaded with EVAL the first time a
 * server does not know one (NOSCRIPT: a new or restarted Redis). A script
 * runs atomically in Redis, which is what makes a check-then-write safe
 * across processes.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(client: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/** Milliseconds for a TTL in seconds; undefined for none (no TTL, or not finite). */
export function ttlMs(ttlSeconds: number | undefined): number | undefined {
  if (ttlSeconds === undefined || !Number.isFinite(ttlSeconds)) return undefined;
  return Math.max(1, Math.ceil(ttlSeconds * 1000));
}
