/**
 * The one way forager opens Redis (runtime.backend: redis, SPEC 9). ioredis
 * is imported on the first call, never when this module is: `--help`,
 * `forager run` and the file backend pay nothing for it (the CLI bundle
 * keeps it external, scripts/bundle.mjs).
 *
 * Two kinds of connection, because BullMQ needs one and forager the other:
 * - `commands`: reads and writes of the stores, claims, admission. A
 *   command sent while Redis is unreachable fails after one reconnect
 *   attempt instead of waiting in ioredis' offline queue, so a trigger or
 *   a webhook can answer 503 at once rather than hang (SPEC 9: never 202
 *   for what could not be recorded).
 * - `blocking`: BullMQ workers and queue events, which block on Redis and
 *   must retry forever (BullMQ refuses a connection that gives up).
 * Both reconnect by themselves when Redis comes back.
 */
import { ForagerError, errorMessage } from "../../errors.js";
import type { Redis, RedisOptions } from "ioredis";

/** Where the cluster's Redis is and the prefix its keys live under. */
export interface RedisSettings {
  url: string;
  prefix: string;
}

export type ConnectionPurpose = "commands" | "blocking";

/** The settings a config asks for; the URL from `redis_url`, else FORAGER_REDIS_URL. */
export function redisSettings(
  config: { redis_url?: string; redis_prefix?: string },
  env: NodeJS.ProcessEnv = process.env,
): RedisSettings {
  const url = config.redis_url ?? env.FORAGER_REDIS_URL;
  if (!url) {
    throw new ForagerError("redis_url_missing", "runtime.backend is redis but no Redis URL is set", {
      hint: "set runtime.redis_url in the agent file or FORAGER_REDIS_URL (redis://host:6379/0)",
    });
  }
  if (!/^rediss?:\/\//.test(url)) {
    throw new ForagerError("invalid_redis_url", `the Redis URL ${redactRedisUrl(url)} is not a redis:// or rediss:// URL`);
  }
  return { url, prefix: config.redis_prefix ?? "forager" };
}

/** The URL with any password replaced, for messages and logs. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_m, scheme: string, auth: string) =>
    auth.includes(":") ? `${scheme}${auth.slice(0, auth.indexOf(":"))}:***@` : `${scheme}***@`,
  );
}

/**
 * Work the cluster could not take now, though Redis is up: another node
 * held the entry point's admission lock for longer than a trigger waits.
 * Nothing was recorded; the HTTP layer answers 503 `cluster_busy` with
 * Retry-After, as for an unreachable Redis.
 */
export class ClusterBusyError extends ForagerError {
  constructor(message: string) {
    super("cluster_busy", message);
    this.name = "ClusterBusyError";
  }
}

/** The error every Redis failure that stops forager from recording work becomes (503 at the HTTP layer). */
export class RedisUnavailableError extends ForagerError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("redis_unavailable", message, options);
    this.name = "RedisUnavailableError";
  }
}

/** How long a command may wait for its answer before it counts as failed. */
const COMMAND_TIMEOUT_MS = 5_000;
/** Reconnect delays grow to this and stay there while Redis is away. */
const MAX_RECONNECT_DELAY_MS = 1_000;

let ioredis: Promise<{ Redis: typeof import("ioredis").Redis }> | undefined;

/** Opens a connection and waits until Redis answers; a RedisUnavailableError when it cannot. */
export async function openRedis(
  settings: RedisSettings,
  purpose: ConnectionPurpose,
  options: { connectTimeoutMs?: number; name?: string } = {},
): Promise<Redis> {
  const { Redis: RedisClient } = await (ioredis ??= import("ioredis"));
  const clientOptions: RedisOptions = {
    lazyConnect: true,
    connectionName: `forager:${options.name ?? purpose}`,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    retryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
    ...(purpose === "blocking"
      ? { maxRetriesPerRequest: null, enableReadyCheck: false }
      : { maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS }),
  };
  const client = new RedisClient(settings.url, clientOptions);
  // ioredis reports every failed reconnect as an 'error' event; without a
  // listener Node would treat it as unhandled. Failures reach callers as
  // rejected commands, and /health asks `status`.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new RedisUnavailableError(`cannot reach Redis at ${redactRedisUrl(settings.url)}: ${errorMessage(err)}`, { cause: err });
  }
  return client;
}

/** True when the error means Redis could not be reached or did not answer in time. */
export function isRedisUnavailable(err: unknown): boolean {
  if (err instanceof RedisUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return (
    code === "ECONNREFUSED" ||
    code === "ECONNRESET" ||
    code === "ETIMEDOUT" ||
    code === "EPIPE" ||
    err.name === "MaxRetriesPerRequestError" ||
    /Connection is closed|Command timed out|Stream isn't writeable|enableOfflineQueue/.test(err.message)
  );
}

/**
 * One cluster's Redis as the stores and queues share it: the settings, key
 * names under the prefix, and connections opened on first use. Creating a
 * link connects to nothing, so a backend can be built synchronously and a
 * Redis that is down at start fails the first command (503), not the start.
 */
export class RedisLink {
  private commandClient: Promise<Redis> | undefined;
  private readonly opened = new Set<Redis>();
  private closed = false;

  constructor(readonly settings: RedisSettings) {}

  /** A key of this cluster: `<prefix>:<part>:<part>…`. */
  key(...parts: (string | number)[]): string {
    return [this.settings.prefix, ...parts].join(":");
  }

  /** The shared connection for ordinary commands; reopened on the next call after a failed open. */
  commands(): Promise<Redis> {
    if (this.closed) return Promise.reject(new RedisUnavailableError("the Redis link is closed"));
    const pending = (this.commandClient ??= this.open("commands", "commands"));
    pending.catch(() => {
      if (this.commandClient === pending) this.commandClient = undefined;
    });
    return pending;
  }

  /** A new connection of its own (a BullMQ worker, a subscriber), closed with the link. */
  dedicated(purpose: ConnectionPurpose, name: string): Promise<Redis> {
    if (this.closed) return Promise.reject(new RedisUnavailableError("the Redis link is closed"));
    return this.open(purpose, name);
  }

  private async open(purpose: ConnectionPurpose, name: string): Promise<Redis> {
    const client = await openRedis(this.settings, purpose, { name });
    if (this.closed) {
      client.disconnect();
      throw new RedisUnavailableError("the Redis link is closed");
    }
    this.opened.add(client);
    client.once("end", () => this.opened.delete(client));
    return client;
  }

  /** Closes every connection this link opened; commands after this fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.commandClient = undefined;
    await Promise.all(
      [...this.opened].map(async (client) => {
        try {
          await client.quit();
        } catch {
          client.disconnect();
        }
      }),
    );
    this.opened.clear();
  }
}
