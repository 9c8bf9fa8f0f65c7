/**
 * Where the runtime keeps what must outlive or outgrow one process: the
 * session store, agent state, idempotency/watermark keys, the ingest log,
 * the global slot limiter and the per-agent mutexes of synchronized entry
 * points. `AgentRuntime` takes all of them from one `RuntimeBackend` and
 * constructs none itself, so a shared backend is one more `createBackend`
 * branch, not an edit of the composition root.
 *
 * Three backends exist: `file` (a storage path: the file stores, in-process
 * limiter and mutexes), `memory` (no storage path: everything in memory,
 * for tests and embedding) and `redis` (`runtime.backend: redis`, SPEC 9:
 * cluster/redis-backend.ts, with the BullMQ queue, the Redis semaphore and
 * mutexes; ioredis and bullmq load only when the runtime starts). The
 * redis backend also carries the node's cluster services (`cluster`,
 * cluster/nodes.ts): membership, timer ticks from BullMQ job schedulers,
 * the event feed between the nodes' buses, and cluster stats.
 */
import type { RuntimeConfig } from "../config/schema.js";
import type { Logger } from "../logging/index.js";
import { createIngestLog, createKeyStore, createSessionStore, createStateStore, type StorageOptions } from "../storage/create.js";
import type { IngestLog } from "../storage/ingest-log.js";
import type { KeyStore, SessionStore, StateStore } from "../storage/types.js";
import type { Clock } from "../util/clock.js";
import { runtimeDefaults } from "../config/defaults.js";
import { ForagerError } from "../errors.js";
import { FencedStateStore } from "../storage/fenced-state.js";
import { createRedisBackend } from "./cluster/redis-backend.js";
import { Dispatcher } from "./dispatcher.js";
import type { ExecutionQueue, QueueHost } from "./execution-queue.js";
import { InProcessLimiter, InProcessMutexes, type MutexSource, type SlotLimiter } from "./limiter.js";
import { ClockTickSource, type TickSourceFactory } from "./tick-source.js";
import type { ClusterServices } from "./cluster/nodes.js";

export { InProcessMutexes, type MutexSource } from "./limiter.js";

export interface RuntimeBackend {
  readonly kind: "file" | "memory" | "redis";
  /** redis only: this process's node id in the cluster (`<host>:<pid>:<4 hex>`). */
  readonly nodeId?: string;
  readonly store: SessionStore;
  readonly state: StateStore;
  readonly keys: KeyStore;
  /** The durable record of ingested external events (webhooks). */
  readonly ingestLog: IngestLog;
  /** The runtime-wide cap, `max_concurrent_executions`. */
  readonly limiter: SlotLimiter;
  readonly mutexes: MutexSource;
  /** The state store a synchronized execution sees: its writes carry `fence`, its agent-mutex grant's, and older ones are refused. */
  fencedState(agent: string, fence: number): StateStore;
  /** The execution queue over this backend's store, limiter and mutexes; the runtime makes one. */
  createQueue(host: QueueHost): ExecutionQueue;
  /** When timer entry points are due: the runtime makes one tick source, on its own clock. */
  readonly ticks: TickSourceFactory;
  /** A cluster node's membership, timer ticks, event feed and stats (cluster/nodes.ts); redis backend only. */
  readonly cluster?: ClusterServices;
  /** Closes what this backend opened itself; parts handed in stay open (they are the caller's). */
  close(): Promise<void>;
}

export interface BackendDeps {
  /** Where the Redis URL may come from (FORAGER_REDIS_URL) for `backend: redis`; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where sessions, state, keys and the ingest log live; none = the memory backend. */
  storagePath?: string;
  clock: Clock;
  logger: Logger;
  /** Parts to use as they are instead of building them (a test's store, an embedder's limiter). */
  store?: SessionStore;
  state?: StateStore;
  keys?: KeyStore;
  ingestLog?: IngestLog;
  limiter?: SlotLimiter;
  mutexes?: MutexSource;
}

/** What createBackend reads: the limits, and for `backend: redis` the Redis settings. */
export type BackendConfig = Pick<RuntimeConfig, "max_concurrent_executions" | "execution_result_max" | "cache_ttl"> &
  Partial<Pick<RuntimeConfig, "backend" | "redis_url" | "redis_prefix" | "worker_loss">>;

/** The backend the config and storage path ask for: `redis` when config.backend says so, else `file` with a storage path, else `memory`. */
export function createBackend(config: BackendConfig, deps: BackendDeps): RuntimeBackend {
  if (config.backend === "redis") {
    if (deps.limiter || deps.mutexes) throw new ForagerError("invalid_options", "a redis backend makes its own limiter and mutexes: pass neither");
    return createRedisBackend({ ...runtimeDefaults(), ...config, backend: "redis" }, deps);
  }
  const { storagePath: root, clock, logger } = deps;
  // The concrete stores are chosen in storage/create.ts, the same place `forager sessions` gets its store from.
  const storage: StorageOptions = { storagePath: root, clock, logger };
  const keys: KeyStore = deps.keys ?? createKeyStore(config, storage);
  const ownsKeys = deps.keys === undefined;
  const state = deps.state ?? createStateStore(config, storage);
  const parts = {
    store: deps.store ?? createSessionStore(config, storage),
    limiter: deps.limiter ?? new InProcessLimiter(config.max_concurrent_executions),
    mutexes: deps.mutexes ?? new InProcessMutexes(),
  };
  return {
    kind: root ? "file" : "memory",
    ...parts,
    state,
    keys,
    ingestLog: deps.ingestLog ?? createIngestLog(config, storage),
    fencedState: (agent, fence) => new FencedStateStore(state, agent, fence, () => parts.mutexes.forAgent(agent).fence),
    createQueue: (host) => new Dispatcher(host, parts, { max: config.execution_result_max, ttlMs: config.cache_ttl * 1000 }),
    ticks: (timerClock) => new ClockTickSource(timerClock),
    async close() {
      // The session store is flushed and the ingest log closed by the runtime's own stop steps.
      if (ownsKeys) await keys.close?.();
    },
  };
}
