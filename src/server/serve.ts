/**
 * `forager serve`: load the agents, take the storage lock, start the
 * runtime, the webhook listener and the control API, write serve.json, then
 * wait for a signal and drain (SPEC 6). The CLI command only calls `serve`.
 */
import type { Agent, RuntimeConfig } from "../config/schema.js";
import type { LlmProvider } from "../llm/types.js";
import type { Logger } from "../logging/index.js";
import { registerSecret } from "../logging/index.js";
import type { RuntimeHandle } from "../runtime/types.js";
import type { KeyStore } from "../storage/types.js";
import { startTelemetry, type Telemetry } from "../telemetry/index.js";
import { resolveToken } from "./auth.js";
import { connectionCaps } from "./connection-limits.js";
import { ControlApi } from "./control-api.js";
import { removeServeFile, serveFilePath, writeServeFile, type ServeInfo } from "./serve-file.js";
import { acquireStorageLock } from "./storage-lock.js";
import { listenerError } from "./listen-error.js";
import { WebhookServer } from "./webhook-server.js";

/** A runtime `serve` can start and stop. */
export interface ServableRuntime extends RuntimeHandle {
  start(): Promise<void>;
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
  createKeyStore(storagePath: string): Promise<KeyStore>;
}

export interface ServeOptions {
  files: string[];
  /** `--storage`. */
  storage?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  logger: Logger;
  /** First SIGINT/SIGTERM: drain. */
  interrupt: AbortSignal;
  /** Second signal: cancel what is left at once. */
  forceInterrupt: AbortSignal;
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
  async createKeyStore(storagePath) {
    const { FileKeyStore } = await import("../storage/keys.js");
    return new FileKeyStore(storagePath);
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
  const lock = await acquireStorageLock(storagePath);

  const token = resolveToken(env);
  registerSecret(token);
  let runtime: ServableRuntime | undefined;
  let webhooks: WebhookServer | undefined;
  let control: ControlApi | undefined;
  let wroteServeFile = false;
  let keys: KeyStore | undefined;
  let telemetry: Telemetry | undefined;
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
    if (config.webhook_routes.length > 0) {
      keys = await deps.createKeyStore(storagePath);
      webhooks = new WebhookServer({ routes: config.webhook_routes, runtime, keys, logger: logger.child({ component: "webhooks" }), maxConnections: caps.webhook });
    }
    control = new ControlApi({ runtime, token, webhooks: webhooks?.stats, logger: logger.child({ component: "control" }), maxConnections: caps.control, storagePath });
    const metricsSource = control.metrics;
    const running = runtime;
    const webhookStats = webhooks?.stats;
    telemetry?.exportMetrics(() => metricsSource.families(running.getStats(), webhookStats));

    const webhookUrl = webhooks
      ? await webhooks.listen(listeners.webhookHost, listeners.webhookPort).catch((err: unknown) => {
          throw listenerError(err, "webhook", listeners.webhookHost, listeners.webhookPort);
        })
      : undefined;
    if (webhooks && webhookUrl) {
      for (const route of config.webhook_routes) {
        logger.info({ source_id: route.source_id, url: `${webhookUrl}${route.path}` }, `webhook route ${route.source_id} listening on ${webhookUrl}${route.path}`);
      }
    }
    const url = await control.listen(listeners.controlHost, listeners.controlPort).catch((err: unknown) => {
      throw listenerError(err, "control", listeners.controlHost, listeners.controlPort);
    });
    logger.info({ url }, `control API listening on ${url}`);

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
    logger.info({ storage: storagePath, agents: info.agents }, `serving ${info.agents.join(", ")}; token and URL in ${serveFilePath(storagePath)}`);
    options.onReady?.({ ...info, storage_path: storagePath });

    const signal = await untilAborted(options.interrupt);
    logger.info({ signal, grace_seconds: config.shutdown_grace_seconds }, "shutting down: intake stopped, draining running executions");
    webhooks?.startDraining();
    control.startDraining();
    await stopRuntime(runtime, config.shutdown_grace_seconds * 1000, options.forceInterrupt, logger);
    // The drained executions' spans and the last metrics leave before the process does.
    await telemetry?.shutdown(TELEMETRY_FLUSH_MS);
    logger.info("shutdown complete");
    return 0;
  } finally {
    // Every step runs even when an earlier one fails.
    await webhooks?.close().catch((err: unknown) => logger.warn({ err }, "closing the webhook listener failed"));
    await control?.close().catch((err: unknown) => logger.warn({ err }, "closing the control API failed"));
    if (runtime && runtime.state !== "stopped") await runtime.stop({ graceMs: 0 }).catch((err: unknown) => logger.warn({ err }, "stopping the runtime failed"));
    await telemetry?.shutdown(TELEMETRY_FLUSH_MS);
    await keys?.close?.().catch((err: unknown) => logger.warn({ err }, "closing the webhook de-duplication store failed"));
    if (wroteServeFile) await removeServeFile(storagePath).catch(() => {});
    await lock.release().catch(() => {});
  }
}

/** How long a drain waits for telemetry to be exported. */
const TELEMETRY_FLUSH_MS = 5000;

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
