/**
 * Where the runtime keeps what must outlive or outgrow one process: the
 * session store, agent state, idempotency/watermark keys, the ingest log,
 * the global slot limiter and the per-agent mutexes of synchronized entry
 * points. `AgentRuntime` takes all of them from one `RuntimeBackend` and
 * constructs none itself, so a shared backend is one more `createBackend`
 * branch, not an edit of the composition root.
 *
 * Two backends exist: `file` (a storage path: the file stores, in-process
 * limiter and mutexes) and `memory` (no storage path: everything in memory,
 * for tests and embedding). Still process-local whatever the backend: the
 * execution queue (dispatcher.ts), timer ticks (`ticks`: the clock tick
 * source of tick-source.ts) and the event bus.
 */
import type { RuntimeConfig } from "../config/schema.js";
import type { Logger } from "../logging/index.js";
import { createIngestLog, createKeyStore, createSessionStore, createStateStore, type StorageOptions } from "../storage/create.js";
import type { IngestLog } from "../storage/ingest-log.js";
import type { KeyStore, SessionStore, StateStore } from "../storage/types.js";
import type { Clock } from "../util/clock.js";
import { Dispatcher } from "./dispatcher.js";
import type { ExecutionQueue, QueueHost } from "./execution-queue.js";
import { InProcessLimiter, InProcessMutexes, type MutexSource, type SlotLimiter } from "./limiter.js";
import { ClockTickSource, type TickSourceFactory } from "./tick-source.js";

export { InProcessMutexes, type MutexSource } from "./limiter.js";

export interface RuntimeBackend {
  readonly kind: "file" | "memory";
  readonly store: SessionStore;
  readonly state: StateStore;
  readonly keys: KeyStore;
  /** The durable record of ingested external events (webhooks). */
  readonly ingestLog: IngestLog;
  /** The runtime-wide cap, `max_concurrent_executions`. */
  readonly limiter: SlotLimiter;
  readonly mutexes: MutexSource;
  /** The execution queue over this backend's store, limiter and mutexes; the runtime makes one. */
  createQueue(host: QueueHost): ExecutionQueue;
  /** When timer entry points are due: the runtime makes one tick source, on its own clock. */
  readonly ticks: TickSourceFactory;
  /** Closes what this backend opened itself; parts handed in stay open (they are the caller's). */
  close(): Promise<void>;
}

export interface BackendDeps {
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

/** The backend the config and storage path ask for: `file` with a storage path, else `memory`. */
export function createBackend(
  config: Pick<RuntimeConfig, "max_concurrent_executions" | "execution_result_max" | "cache_ttl">,
  deps: BackendDeps,
): RuntimeBackend {
  const { storagePath: root, clock, logger } = deps;
  // The concrete stores are chosen in storage/create.ts, the same place `forager sessions` gets its store from.
  const storage: StorageOptions = { storagePath: root, clock, logger };
  const keys: KeyStore = deps.keys ?? createKeyStore(config, storage);
  const ownsKeys = deps.keys === undefined;
  const parts = {
    store: deps.store ?? createSessionStore(config, storage),
    limiter: deps.limiter ?? new InProcessLimiter(config.max_concurrent_executions),
    mutexes: deps.mutexes ?? new InProcessMutexes(),
  };
  return {
    kind: root ? "file" : "memory",
    ...parts,
    state: deps.state ?? createStateStore(config, storage),
    keys,
    ingestLog: deps.ingestLog ?? createIngestLog(config, storage),
    createQueue: (host) => new Dispatcher(host, parts, { max: config.execution_result_max, ttlMs: config.cache_ttl * 1000 }),
    ticks: (timerClock) => new ClockTickSource(timerClock),
    async close() {
      // The session store is flushed and the ingest log closed by the runtime's own stop steps.
      if (ownsKeys) await keys.close?.();
    },
  };
}
