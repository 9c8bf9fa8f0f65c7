/**
 * `forager serve`: load the agents, take the storage lock (file backend; with
 * the redis backend check Redis and require FORAGER_TOKEN instead), start the
 * runtime, the webhook listener and the control API, write serve.json, then
 * wait for a signal and drain (SPEC 6). The CLI command only calls `serve`.
 */
import type { Agent, RuntimeConfig, WebhookRouteDef } from "../config/schema.js";
import type { LlmProvider } from "../llm/types.js";
import type { Logger } from "../logging/index.js";
import { mkdir } from "node:fs/promises";
import { registerSecret } from "../logging/index.js";
import type { ReloadSummary } from "../runtime/reload-plan.js";
import type { RuntimeHandle, RuntimeStats } from "../runtime/types.js";
import type { KeyStore } from "../storage/types.js";
import { startTelemetry, type Telemetry } from "../telemetry/index.js";
import { resolveToken } from "./auth.js";
import { connectionCaps } from "./connection-limits.js";
import { ControlApi } from "./control-api.js";
import { removeServeFile, serveFilePath, writeServeFile, type ServeInfo } from "./serve-file.js";
import { Reloader, type RouteChanges } from "./reload.js";
import { SystemdNotifier } from "./sd-notify.js";
import { acquireStorageLock, type StorageLock } from "./storage-lock.js";
import { isClusterConfig, prepareClusterMode, type ClusterMode } from "./cluster-mode.js";
import { listenerError } from "./listen-error.js";
import { WebhookServer } from "./webhook-server.js";
import { WebhookStats } from "./webhook-stats.js";
import type { ClusterWebhookCounters } from "../runtime/cluster/webhook-counters.js";

/** A runtime `serve` can start and stop. */
export interface ServableRuntime extends RuntimeHandle {
  /** The runtime's remembered keys; the webhook listener keeps its delivery ids there too (one store per folder). */
  readonly keys: KeyStore;
  start(): Promise<void>;
  /** Replaces the agent definitions (SIGHUP); throws, changing nothing, when they cannot be used. */
  reload(agents: readonly Agent[]): ReloadSummary;
}

/** What `serve` builds; tests replace parts of it. */
export interface ServeDependencies {
  createRuntime(options: {
    agents: Agent[];
    storagePath: string;
    config: RuntimeConfig;
    logger: Logger;
    /** Wraps each execution's LLM provider (tracing); none = the provider as built. */
    wrapLlm?: (llm: LlmProvider) => LlmProvider;
  }): Promise<ServableRuntime>;
}

export interface ServeOptions {
  files: string[];
  /** `--storage`. */
  storage?: string;
  /** `--rolling` (redis backend): start even when the cluster runs other agent definitions; ignored with the file backend. */
  rolling?: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
  logger: Logger;
  /** First SIGINT/SIGTERM: drain. */
  interrupt: AbortSignal;
  /** Second signal: cancel what is left at once. */
  forceInterrupt: AbortSignal;
  /** Claims SIGHUP: serve reloads its agent files on it. Returns the undo. */
  onHangup?(handler: () => void): () => void;
  deps?: Partial<ServeDependencies>;
  /** Called once everything listens and serve.json is written. */
  onReady?(info: ServeInfo & { storage_path: string }): void;
}

const defaultDependencies: ServeDependencies = {
  async createRuntime({ wrapLlm, ...options }) {
    const { AgentRuntime } = await import("../runtime/agent-runtime.js");
    if (!wrapLlm) return new AgentRuntime(options) as ServableRuntime;
    const { executeGraph } = await import("../graph/executor.js");
    return new AgentRuntime({ ...options, execute: (run) => executeGraph(run.llm ? { ...run, llm: wrapLlm(run.llm) } : run) }) as ServableRuntime;
  },
};

/** Listener settings, with FORAGER_CONTROL_PORT and friends overriding the agent files (containers). */
export function listenerSettings(config: RuntimeConfig, env: NodeJS.ProcessEnv) {
  const port = (name: string, fallback: number) => {
    const text = env[name]?.trim();
    if (!text) return fallback;
    const value = Number(text);
    if (!/^\d+$/.test(text) || value > 65535) throw new Error(`${name} must be a port number (0-65535), got "${text}"`);
    return value;
  };
  return {
    controlHost: env.FORAGER_CONTROL_HOST?.trim() || config.control_host,
    controlPort: port("FORAGER_CONTROL_PORT", config.control_port),
    webhookHost: env.FORAGER_WEBHOOK_HOST?.trim() || config.webhook_host,
    webhookPort: port("FORAGER_WEBHOOK_PORT", config.webhook_port),
  };
}

/** Runs until a signal; resolves with the exit code (0 after a clean drain). */
export async function serve(options: ServeOptions): Promise<number> {
  const deps = { ...defaultDependencies, ...options.deps };
  // SIGHUP is claimed from the start: one during start-up reloads once serving, never stops the process.
  let reloader: Reloader | undefined;
  let hangupBeforeReady = false;
  const releaseHangup = options.onHangup?.(() => {
    if (reloader) reloader.request();
    else hangupBeforeReady = true;
  });
  const { logger, env, cwd } = options;
  const { loadAgent, mergeRuntimeConfig, resolveStoragePath } = await import("../config/index.js");
  const agents: Agent[] = [];
  for (const file of options.files) agents.push(await loadAgent(file, { env, cwd }));
  const config = mergeRuntimeConfig(agents);
  let listeners;
  try {
    listeners = listenerSettings(config, env);
  } catch (err) {
    const { UsageError } = await import("../errors.js");
    throw new UsageError((err as Error).message);
  }
  const storagePath = resolveStoragePath({ flag: options.storage, env, runtimeStoragePath: config.storage_path, cwd });
  // Redis mode: the token is required and Redis must answer; the folder holds only this node's serve.json, so no lock.
  const cluster: ClusterMode | undefined = isClusterConfig(config) ? await prepareClusterMode(config, env, logger, { agents, rolling: options.rolling }) : undefined;
  if (options.rolling && !cluster) logger.info("--rolling has no effect with runtime.backend file: there is no cluster to join");
  let lock: StorageLock | undefined;
  try {
    if (!cluster) lock = await acquireStorageLock(storagePath);
  } catch (err) {
    await cluster?.redis.close();
    throw err;
  }
  if (cluster) await mkdir(storagePath, { recursive: true });

  const token = cluster?.token ?? resolveToken(env);
  registerSecret(token);
  const notifier = new SystemdNotifier({ env, logger: logger.child({ component: "systemd" }) });
  let runtime: ServableRuntime | undefined;
  let webhooks: WebhookServer | undefined;
  let control: ControlApi | undefined;
  let wroteServeFile = false;
  let telemetry: Telemetry | undefined;
  let sharedWebhookCounters: ClusterWebhookCounters | undefined;
  try {
    telemetry = await startTelemetry({ env, logger });
    const traced = telemetry?.traces ? telemetry : undefined;
    runtime = await deps.createRuntime({ agents, storagePath, config, logger, ...(traced ? { wrapLlm: (llm: LlmProvider) => traced.wrapLlm(llm) } : {}) });
    // Subscribed before start, so executions that start at once (run_immediately timers) are traced too.
    telemetry?.traceExecutions(runtime);
    await runtime.start();
    const caps = connectionCaps(config.max_connections);
    if (caps.limitedByFiles) {
      logger.info(
        { open_file_limit: caps.fileLimit, max_connections: config.max_connections, webhook_max_connections: caps.webhook, control_max_connections: caps.control },
        `the open-file limit (${caps.fileLimit}) caps connections at ${caps.webhook} (webhooks) and ${caps.control} (control API); raise it with ulimit -n / LimitNOFILE`,
      );
    }
    const live = runtime;
    // One set of counters for the control API, also for routes a reload adds; in redis mode /stats and /metrics report the cluster's.
    const countersLogger = logger.child({ component: "webhooks" });
    if (cluster) {
      const { openClusterWebhookCounters } = await import("../runtime/cluster/webhook-counters.js");
      sharedWebhookCounters = openClusterWebhookCounters(config, env, countersLogger);
    }
    const webhookStats = new WebhookStats(
      config.webhook_routes.map((r) => r.source_id),
      sharedWebhookCounters && { counters: sharedWebhookCounters, logger: countersLogger },
    );
    const startWebhooks = async (routes: readonly WebhookRouteDef[]) => {
      webhooks = new WebhookServer({ routes, runtime: live, keys: live.keys, stats: webhookStats, logger: logger.child({ component: "webhooks" }), maxConnections: caps.webhook });
      return webhooks.listen(listeners.webhookHost, listeners.webhookPort).catch((err: unknown) => {
        throw listenerError(err, "webhook", listeners.webhookHost, listeners.webhookPort);
      });
    };
    const webhookUrl = config.webhook_routes.length > 0 ? await startWebhooks(config.webhook_routes) : undefined;
    control = new ControlApi({
      runtime,
      token,
      webhooks: webhookStats,
      logger: logger.child({ component: "control" }),
      maxConnections: caps.control,
      storagePath,
      ...(cluster ? { stateInStorage: false, extraChecks: async () => ({ redis: await cluster.redis.health() }) } : {}),
    });
    const metricsSource = control.metrics;
    telemetry?.exportMetrics(async () => {
      const [stats, webhookTotals] = await Promise.all([live.getStats(), webhookStats.totals()]);
      return metricsSource.families(stats, webhookTotals);
    });
    const url = await control.listen(listeners.controlHost, listeners.controlPort).catch((err: unknown) => {
      throw listenerError(err, "control", listeners.controlHost, listeners.controlPort);
    });

    const info: ServeInfo = {
      pid: process.pid,
      url,
      token,
      started_at: new Date().toISOString(),
      agents: agents.map((a) => a.name),
      ...(webhookUrl ? { webhook_url: webhookUrl } : {}),
    };
    await writeServeFile(storagePath, info);
    wroteServeFile = true;
    logStartup(logger, await runtime.getStats(), config.webhook_routes, { url, webhookUrl, storagePath, agents: info.agents });
    options.onReady?.({ ...info, storage_path: storagePath });
    // A node that cannot record its digest still serves: the next --rolling node, or a restart, records one.
    await cluster?.afterStart().catch((err: unknown) => logger.warn({ err }, "recording this node's agent definitions as the cluster's failed"));
    void notifier.notify("READY=1", `STATUS=serving ${info.agents.join(", ")}`);
    notifier.startWatchdog();

    reloader = new Reloader({
      files: options.files,
      env,
      cwd,
      logger,
      notifier,
      config,
      ...(cluster ? { checkAgents: (next, nextConfig) => cluster.checkReload(next, nextConfig) } : {}),
      reloadRuntime: (next) => live.reload(next),
      setRoutes: async (routes): Promise<RouteChanges> => {
        if (webhooks) return webhooks.setRoutes(routes);
        if (routes.length === 0) return { added: [], removed: [], changed: [] };
        info.webhook_url = await startWebhooks(routes);
        await writeServeFile(storagePath, info);
        logger.info({ url: info.webhook_url }, `webhook listener started on ${info.webhook_url}`);
        return { added: routes.map((r) => r.path), removed: [], changed: [] };
      },
      agentsChanged: async (names) => {
        info.agents = names;
        await writeServeFile(storagePath, info);
      },
    });
    if (hangupBeforeReady) reloader.request();

    const signal = await untilAborted(options.interrupt);
    await reloader.close();
    const before = await runtime.getStats();
    logger.info(
      { signal, running: before.active_executions, queued: before.queued_executions, grace_seconds: config.shutdown_grace_seconds },
      cluster
        ? `shutting down on ${signal}: intake stopped; this node's running executions get ${config.shutdown_grace_seconds}s to finish; queued ones stay queued in Redis for the other nodes`
        : `shutting down on ${signal}: intake stopped; ${before.active_executions} running get ${config.shutdown_grace_seconds}s to finish, ${before.queued_executions} queued are cancelled`,
    );
    void notifier.notify("STOPPING=1", "STATUS=draining");
    webhooks?.startDraining();
    control.startDraining();
    const outcome = countOutcomes(runtime);
    try {
      await stopRuntime(runtime, config.shutdown_grace_seconds * 1000, options.forceInterrupt, logger);
    } finally {
      outcome.stop();
    }
    // The drained executions' spans and the last metrics leave before the process does.
    await telemetry?.shutdown(TELEMETRY_FLUSH_MS);
    const { finished, cancelled } = outcome.counts;
    logger.info(
      { running: before.active_executions, queued: before.queued_executions, finished, cancelled },
      `shutdown complete: ${finished} finished during the drain, ${cancelled} cancelled (recorded, can be re-run)`,
    );
    return 0;
  } finally {
    // Every step runs even when an earlier one fails.
    releaseHangup?.();
    await reloader?.close().catch(() => {});
    await webhooks?.close().catch((err: unknown) => logger.warn({ err }, "closing the webhook listener failed"));
    await control?.close().catch((err: unknown) => logger.warn({ err }, "closing the control API failed"));
    // After the listener: the last deliveries' counts reach Redis.
    await sharedWebhookCounters?.close();
    if (runtime && runtime.state !== "stopped") await runtime.stop({ graceMs: 0 }).catch((err: unknown) => logger.warn({ err }, "stopping the runtime failed"));
    await telemetry?.shutdown(TELEMETRY_FLUSH_MS);
    if (wroteServeFile) await removeServeFile(storagePath).catch(() => {});
    await lock?.release().catch(() => {});
    await cluster?.redis.close().catch(() => {});
    await notifier.close();
  }
}

/** How long a drain waits for telemetry to be exported. */
const TELEMETRY_FLUSH_MS = 5000;

/** One line saying what this process serves: agents, entry points, timers, routes, listeners. */
function logStartup(
  logger: Logger,
  stats: RuntimeStats,
  routes: readonly WebhookRouteDef[],
  where: { url: string; webhookUrl?: string; storagePath: string; agents: string[] },
): void {
  const entryPoints = Object.keys(stats.streams);
  const timers = Object.keys(stats.timers);
  const routeList = routes.map((r) => `${r.path} (${r.source_id})`);
  const parts = [
    `serving ${where.agents.join(", ")}`,
    `entry points ${entryPoints.join(", ") || "none"}`,
    `timers ${timers.length === 0 ? "none" : timers.map((key) => `${key} next ${stats.timers[key]!.next_run_at ?? "never"}`).join(", ")}`,
    `webhooks ${where.webhookUrl ? `${where.webhookUrl} ${routeList.join(", ")}` : "off"}`,
    `control API ${where.url}`,
    `token and URL in ${serveFilePath(where.storagePath)}`,
  ];
  logger.info(
    {
      agents: where.agents,
      entry_points: entryPoints,
      timers,
      webhook_url: where.webhookUrl ?? null,
      webhook_routes: routes.map((r) => ({ source_id: r.source_id, path: r.path })),
      control_url: where.url,
      storage: where.storagePath,
      max_concurrent_executions: stats.max_concurrent_executions,
    },
    parts.join("; "),
  );
}

/** Counts executions that end while the runtime drains. */
function countOutcomes(runtime: ServableRuntime) {
  const counts = { finished: 0, cancelled: 0 };
  const stop = runtime.subscribe(
    (event) => {
      if (event.type === "execution_cancelled") counts.cancelled++;
      else counts.finished++;
    },
    { types: ["execution_completed", "execution_failed", "execution_cancelled"] },
  );
  return { counts, stop };
}

/** Graceful stop; a second signal asks for an immediate one. */
async function stopRuntime(runtime: ServableRuntime, graceMs: number, force: AbortSignal, logger: Logger): Promise<void> {
  const graceful = runtime.stop({ graceMs });
  // stop() is memoised, so the second signal cancels what runs through the
  // public handle instead of asking for another stop.
  const onForce = () => {
    logger.warn("second signal: cancelling running executions now");
    void cancelRunning(runtime, logger);
  };
  if (force.aborted) onForce();
  else force.addEventListener("abort", onForce, { once: true });
  try {
    await graceful;
  } finally {
    force.removeEventListener("abort", onForce);
  }
}

function untilAborted(signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const reason = () => (typeof signal.reason === "string" ? signal.reason : "signal");
    if (signal.aborted) resolve(reason());
    else signal.addEventListener("abort", () => resolve(reason()), { once: true });
  });
}

async function cancelRunning(runtime: ServableRuntime, logger: Logger): Promise<void> {
  try {
    const running = await runtime.listExecutions({ status: "running", limit: 10_000 });
    await Promise.all(running.map((e) => runtime.cancel(e.execution_id, "shutdown").catch(() => undefined)));
  } catch (err) {
    logger.warn({ err }, "cancelling running executions failed");
  }
}
