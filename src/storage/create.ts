/**
 * The one place that chooses concrete storage: file stores under a storage
 * folder, in-memory stores without one, and the Redis stores when
 * `runtime.backend` is `redis`. Every caller (the runtime's backend,
 * `forager run`, `forager sessions`) gets the right one without change.
 *
 * The Redis stores share one `RedisLink` (`options.link`, closed by its
 * owner); without one, each store makes its own from
 * `redisSettings(config, env)` and its close() closes it. Nothing
 * connects here: the link opens on the first command, so these stay
 * synchronous and a Redis that is down fails the first command, not this.
 */
import type { RuntimeConfig } from "../config/schema.js";
import type { Logger } from "../logging/index.js";
import type { Clock } from "../util/clock.js";
import { FileIngestLog, noIngestLog, type IngestLog } from "./ingest-log.js";
import { FileKeyStore, MemoryKeyStore } from "./keys.js";
import { MemorySessionStore } from "./memory.js";
import { RedisLink, redisSettings } from "./redis/connection.js";
import { RedisIngestLog } from "./redis/ingest-log.js";
import { RedisKeyStore } from "./redis/keys.js";
import { RedisSessionStore } from "./redis/sessions.js";
import { RedisStateStore } from "./redis/state.js";
import { FileSessionStore } from "./sessions.js";
import { FileStateStore, MemoryStateStore } from "./state.js";
import type { KeyStore, SessionStore, StateStore } from "./types.js";

export interface StorageOptions {
  /** The storage folder; none = in-memory stores. With the redis backend: where state.json files are imported from. */
  storagePath?: string;
  /** Where the Redis URL may come from (FORAGER_REDIS_URL) when the config has none. */
  env?: NodeJS.ProcessEnv;
  logger?: Pick<Logger, "warn">;
  clock?: Clock;
  /** File sessions: sweep every session folder's temp files at `init` (default true). */
  sweepSessionFolders?: boolean;
  /** The redis backend: the link the stores share (its owner closes it); without one, each store gets a link of its own. */
  link?: RedisLink;
}

/** The runtime settings storage is chosen by. */
export type StorageConfig = Partial<RuntimeConfig>;

function isRedis(config: StorageConfig): boolean {
  return config.backend === "redis";
}

/** The shared link, or one of the store's own (which its close() closes). */
function linkFor(config: StorageConfig, options: StorageOptions): { link: RedisLink; ownsLink: boolean } {
  return options.link ? { link: options.link, ownsLink: false } : { link: new RedisLink(redisSettings(config, options.env)), ownsLink: true };
}

export function createSessionStore(config: StorageConfig, options: StorageOptions): SessionStore {
  const { storagePath, logger, clock, sweepSessionFolders } = options;
  if (isRedis(config)) {
    const { link, ownsLink } = linkFor(config, options);
    return new RedisSessionStore(link, { clock, logger, maxAgeSeconds: config.session_retention?.max_age, ownsLink });
  }
  return storagePath ? new FileSessionStore(storagePath, { logger, clock, sweepSessionFolders }) : new MemorySessionStore({ clock });
}

export function createStateStore(config: StorageConfig, options: StorageOptions): StateStore {
  if (isRedis(config)) {
    const { link, ownsLink } = linkFor(config, options);
    return new RedisStateStore(link, { importFrom: options.storagePath, ownsLink });
  }
  return options.storagePath ? new FileStateStore(options.storagePath) : new MemoryStateStore();
}

export function createKeyStore(config: StorageConfig, options: StorageOptions): KeyStore {
  const { storagePath, clock } = options;
  if (isRedis(config)) {
    const { link, ownsLink } = linkFor(config, options);
    return new RedisKeyStore(link, { ownsLink });
  }
  return storagePath ? new FileKeyStore(storagePath, { clock }) : new MemoryKeyStore({ clock });
}

export function createIngestLog(config: StorageConfig, options: StorageOptions): IngestLog {
  if (isRedis(config)) {
    const { link, ownsLink } = linkFor(config, options);
    return new RedisIngestLog(link, { ownsLink });
  }
  return options.storagePath ? new FileIngestLog(options.storagePath) : noIngestLog;
}
