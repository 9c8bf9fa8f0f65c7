/**
 * The `redis` backend (SPEC 9): one RedisLink for the process, the stores
 * storage/create.ts chooses for `backend: redis`, the fair Redis semaphore
 * as the global limiter, Redis agent mutexes with fences, and the BullMQ
 * ExecutionQueue. Nothing here connects or loads ioredis/bullmq until the
 * runtime starts: building the backend is synchronous and cheap.
 */
import type { RuntimeConfig } from "../../config/schema.js";
import type { Logger } from "../../logging/index.js";
import { createIngestLog, createKeyStore, createSessionStore, createStateStore, type StorageOptions } from "../../storage/create.js";
import type { IngestLog } from "../../storage/ingest-log.js";
import { RedisLink, redisSettings } from "../../storage/redis/connection.js";
import type { KeyStore, SessionStore, StateStore } from "../../storage/types.js";
import type { Clock } from "../../util/clock.js";
import type { ExecutionQueue, QueueHost } from "../execution-queue.js";
import type { TickSourceFactory } from "../tick-source.js";
import { BullExecutionQueue } from "./bull-queue.js";
import { ClusterChannels } from "./channels.js";
import { createClusterServices, newNodeId, type ClusterServices } from "./nodes.js";
import { RedisFencedState } from "./fenced-state.js";
import { RedisMutexes, RedisSemaphore } from "./redis-semaphore.js";

export type RedisBackendConfig = Pick<
  RuntimeConfig,
  "max_concurrent_executions" | "execution_result_max" | "cache_ttl" | "redis_url" | "redis_prefix" | "worker_loss"
> &
  Partial<Pick<RuntimeConfig, "backend">>;

export interface RedisBackendDeps {
  clock: Clock;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  storagePath?: string;
  store?: SessionStore;
  state?: StateStore;
  keys?: KeyStore;
  ingestLog?: IngestLog;
  /** A link to share (tests running several nodes still give each its own); default: one made here and closed with the backend. */
  link?: RedisLink;
}

export interface RedisBackendParts {
  readonly kind: "redis";
  readonly nodeId: string;
  readonly link: RedisLink;
  readonly store: SessionStore;
  readonly state: StateStore;
  readonly keys: KeyStore;
  readonly ingestLog: IngestLog;
  readonly limiter: RedisSemaphore;
  readonly mutexes: RedisMutexes;
  readonly channels: ClusterChannels;
  createQueue(host: QueueHost): ExecutionQueue;
  fencedState(agent: string, fence: number): StateStore;
  readonly ticks: TickSourceFactory;
  readonly cluster: ClusterServices;
  close(): Promise<void>;
}

export function createRedisBackend(config: RedisBackendConfig, deps: RedisBackendDeps): RedisBackendParts {
  const { clock, logger } = deps;
  const link = deps.link ?? new RedisLink(redisSettings(config, deps.env));
  const ownsLink = deps.link === undefined;
  // The Redis stores (storage/create.ts) share this backend's link, which close() closes.
  const shared = { storagePath: deps.storagePath, clock, logger, env: deps.env, link };
  const storage: StorageOptions = shared;
  const leaseMs = config.worker_loss.lock_seconds * 1000;
  const channels = new ClusterChannels(link, logger);
  const semaphoreDeps = { link, channels, logger, leaseMs };
  const limiter = new RedisSemaphore(semaphoreDeps, link.key("slots"), config.max_concurrent_executions);
  const mutexes = new RedisMutexes(semaphoreDeps);
  const state = deps.state ?? createStateStore(config, storage);
  const keys = deps.keys ?? createKeyStore(config, storage);
  const ownsKeys = deps.keys === undefined;
  const store = deps.store ?? createSessionStore(config, storage);
  const queues: BullExecutionQueue[] = [];
  // Made once per backend, so two runtimes in one process are two nodes.
  const nodeId = newNodeId();
  // Membership, timer ticks (BullMQ job schedulers), the event feed and cluster stats (cluster/nodes.ts).
  const cluster = createClusterServices(link, { nodeId, logger });
  return {
    kind: "redis",
    nodeId,
    link,
    store,
    state,
    keys,
    ingestLog: deps.ingestLog ?? createIngestLog(config, storage),
    limiter,
    mutexes,
    channels,
    createQueue(host) {
      const queue = new BullExecutionQueue(host, {
        link,
        store,
        limiter,
        mutexes,
        channels,
        nodeId,
        workerLoss: config.worker_loss,
        nodeCap: config.max_concurrent_executions,
        results: { max: config.execution_result_max, ttlMs: config.cache_ttl * 1000 },
      });
      queues.push(queue);
      cluster.useIdleSource((agent) => queue.clusterIdleSeconds(agent));
      return queue;
    },
    fencedState: (agent, fence) => new RedisFencedState(state, link, agent, fence),
    ticks: () => cluster.ticks,
    cluster,
    async close() {
      await cluster.close();
      for (const queue of queues.splice(0)) await queue.close().catch((err: unknown) => logger.error({ err }, "closing the cluster queue failed"));
      limiter.close();
      mutexes.close();
      await channels.close();
      if (ownsKeys) await keys.close?.();
      if (ownsLink) await link.close();
    },
  };
}
