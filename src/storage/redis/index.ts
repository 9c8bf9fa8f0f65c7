/** The Redis stores (runtime.backend: redis). ioredis itself is loaded by connection.ts on the first command only. */
export { RedisKeyStore } from "./keys.js";
export { RedisStateStore, type RedisStateStoreOptions } from "./state.js";
export { RedisSessionStore, type RedisSessionStoreOptions } from "./sessions.js";
export { RedisIngestLog, INGEST_MAX_ENTRIES } from "./ingest-log.js";
export { RedisLink, RedisUnavailableError, isRedisUnavailable, redisSettings, type RedisSettings } from "./connection.js";
