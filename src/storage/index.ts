/** Storage: sessions, shared state, remembered keys, retention. */
export type * from "./types.js";
export { writeFileAtomic, writeJsonAtomic, readJsonFile } from "./atomic.js";
export { FileSessionStore, type FileSessionStoreOptions } from "./sessions.js";
export { MemorySessionStore } from "./memory.js";
export { FileStateStore, MemoryStateStore } from "./state.js";
export { FileKeyStore, MemoryKeyStore } from "./keys.js";
export { applyRetention, type RetentionPolicy } from "./retention.js";
