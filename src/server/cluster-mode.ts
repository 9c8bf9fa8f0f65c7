/**
 * What `serve` does differently with `runtime.backend: redis` (SPEC 9): the
 * control token must be given (every node accepts the same one, so a CLI
 * or a load balancer can talk to any node), Redis must answer before the
 * node starts taking work, and the storage folder holds only serve.json (no
 * lock: sessions, state and keys live in Redis, and each node has a folder
 * of its own).
 */
import type { RuntimeConfig } from "../config/schema.js";
import { UsageError } from "../errors.js";
import type { Logger } from "../logging/index.js";
import type { RedisCheck } from "./redis-check.js";

export interface ClusterMode {
  /** The token every node shares. */
  token: string;
  /** The start-up check's link, kept for `/health`. */
  redis: RedisCheck;
}

/** True when the merged config asks for the Redis backend. */
export function isClusterConfig(config: Pick<RuntimeConfig, "backend">): boolean {
  return config.backend === "redis";
}

/** The one-line refusal when FORAGER_TOKEN is missing in redis mode. */
export function requireClusterToken(env: NodeJS.ProcessEnv): string {
  const token = env.FORAGER_TOKEN?.trim();
  if (!token) {
    throw new UsageError("runtime.backend is redis but FORAGER_TOKEN is not set: every node of a cluster must accept the same control token", {
      hint: "set FORAGER_TOKEN to the same secret on every node (e.g. openssl rand -hex 32)",
    });
  }
  return token;
}

/** Checks the token and Redis; throws a one-line error when this node must not start. */
export async function prepareClusterMode(config: RuntimeConfig, env: NodeJS.ProcessEnv, logger: Logger): Promise<ClusterMode> {
  const token = requireClusterToken(env);
  const { redisSettings } = await import("../storage/redis/connection.js");
  let settings;
  try {
    settings = redisSettings(config, env);
  } catch (err) {
    throw new UsageError((err as Error).message, { hint: (err as { hint?: string }).hint });
  }
  const { RedisCheck } = await import("./redis-check.js");
  const redis = new RedisCheck(settings);
  try {
    await redis.atStart(logger.child({ component: "redis" }));
  } catch (err) {
    await redis.close();
    throw err;
  }
  return { token, redis };
}
