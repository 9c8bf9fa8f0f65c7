/** The serve side of forager: webhook listener, control API, storage lock, discovery file. */
export { WebhookServer, type WebhookServerOptions } from "./webhook-server.js";
export { WebhookStats, type WebhookCounts } from "./webhook-stats.js";
export { ControlApi, type ControlApiOptions } from "./control-api.js";
export { MetricsCollector } from "./metrics.js";
export { acquireStorageLock, processAlive, type StorageLock } from "./storage-lock.js";
export { writeServeFile, removeServeFile, serveFilePath, type ServeInfo } from "./serve-file.js";
export { resolveToken, bearerMatches } from "./auth.js";
export { serve, listenerSettings, type ServeOptions, type ServeDependencies, type ServableRuntime } from "./serve.js";
export * from "./verify/index.js";
