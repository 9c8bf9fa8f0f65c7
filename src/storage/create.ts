/**
 * The one place that chooses concrete storage: file stores under a storage
 * folder, in-memory stores without one. A second backend (Redis, chosen by
 * `runtime.backend`) is added here, and every caller (the runtime's backend,
 * `forager run`, `forager sessions`) gets it without change.
 */
import type { RuntimeConfig } from "../config/schema.js";
import type { Logger } from "../logging/index.js";
import type { Clock } from "../util/clock.js";
import { FileIngestLog, noIngestLog, type IngestLog } from "./ingest-log.js";
import { FileKeyStore, MemoryKeyStore } from "./keys.js";
import { MemorySessionStore } from "./memory.js";
import { FileSessionStore } from "./sessions.js";
import { FileStateStore, MemoryStateStore } from "./state.js";
import type { KeyStore, SessionStore, StateStore } from "./types.js";

export interface StorageOptions {
  /** The storage folder; none = in-memory stores. */
  storagePath?: string;
  /** Where a backend's settings may come from later (a Redis URL); unused by the file backend. */
  env?: NodeJS.ProcessEnv;
  logger?: Pick<Logger, "warn">;
  clock?: Clock;
  /** File sessions: sweep every session folder's temp files at `init` (default true). */
  sweepSessionFolders?: boolean;
}

/** The runtime settings storage is chosen by; the file backend needs none of them yet. */
export type StorageConfig = Partial<RuntimeConfig>;

export function createSessionStore(_config: StorageConfig, options: StorageOptions): SessionStore {
  const { storagePath, logger, clock, sweepSessionFolders } = options;
  return storagePath ? new FileSessionStore(storagePath, { logger, clock, sweepSessionFolders }) : new MemorySessionStore({ clock });
}

export function createStateStore(_config: StorageConfig, options: StorageOptions): StateStore {
  return options.storagePath ? new FileStateStore(options.storagePath) : new MemoryStateStore();
}

export function createKeyStore(_config: StorageConfig, options: StorageOptions): KeyStore {
  const { storagePath, clock } = options;
  return storagePath ? new FileKeyStore(storagePath, { clock }) : new MemoryKeyStore({ clock });
}

export function createIngestLog(_config: StorageConfig, options: StorageOptions): IngestLog {
  return options.storagePath ? new FileIngestLog(options.storagePath) : noIngestLog;
}
