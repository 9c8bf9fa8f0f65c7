/**
 * `serve` on SIGHUP (SPEC 6): load and check the agent files again; on any
 * error keep serving the current definitions and log why; on success hand
 * the new ones to the runtime (entry points, timers) and the webhook
 * listener (routes). Process-wide settings are fixed for the life of the
 * process: a change to them is reported as needing a restart, not applied.
 */
import type { Agent, RuntimeConfig, WebhookRouteDef } from "../config/schema.js";
import { errorMessage, DefinitionError } from "../errors.js";
import type { Logger } from "../logging/index.js";
import type { ReloadSummary } from "../runtime/reload-plan.js";
import type { SystemdNotifier } from "./sd-notify.js";

export interface RouteChanges {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface ReloadHost {
  files: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logger: Logger;
  notifier: SystemdNotifier;
  /** The settings the process started with. */
  config: RuntimeConfig;
  /** Refuses new definitions before anything is applied (a cluster: they must be the cluster's); throws the reason. */
  checkAgents?(agents: readonly Agent[], config: RuntimeConfig): Promise<void>;
  reloadRuntime(agents: readonly Agent[]): ReloadSummary;
  /** Serves the new webhook routes (starting the listener if there was none). */
  setRoutes(routes: readonly WebhookRouteDef[]): Promise<RouteChanges>;
  /** The loaded agents changed: serve.json says so. */
  agentsChanged(names: string[]): Promise<void>;
}

/** Settings of the merged config that a reload never applies. */
export function settingsNeedingRestart(running: RuntimeConfig, next: RuntimeConfig): string[] {
  const keys = new Set([...Object.keys(running), ...Object.keys(next)]);
  keys.delete("webhook_routes");
  const changed: string[] = [];
  for (const key of [...keys].sort()) {
    const a = (running as Record<string, unknown>)[key];
    const b = (next as Record<string, unknown>)[key];
    if (JSON.stringify(a) !== JSON.stringify(b)) changed.push(`runtime.${key}`);
  }
  return changed;
}

/** Runs reloads one at a time; a SIGHUP during a reload runs one more afterwards. */
export class Reloader {
  private current?: Promise<void>;
  private again = false;
  private closed = false;

  constructor(private readonly host: ReloadHost) {}

  /** Asks for a reload (what SIGHUP does). */
  request(): void {
    if (this.closed) {
      this.host.logger.info("SIGHUP ignored: shutting down");
      return;
    }
    if (this.current) {
      this.again = true;
      return;
    }
    this.current = this.loop().finally(() => (this.current = undefined));
  }

  /** No more reloads; resolves once one under way has finished. */
  async close(): Promise<void> {
    this.closed = true;
    this.again = false;
    await this.current;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      await this.reloadOnce();
    } while (this.again && !this.closed);
  }

  /** One reload; never throws. */
  async reloadOnce(): Promise<void> {
    const { logger, notifier } = this.host;
    const startedMs = Date.now();
    logger.info({ files: this.host.files }, `SIGHUP: reloading ${this.host.files.length === 1 ? "the agent file" : `${this.host.files.length} agent files`}`);
    void notifier.notify("RELOADING=1", `MONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`);
    try {
      const { loadAgent, mergeRuntimeConfig } = await import("../config/index.js");
      const agents: Agent[] = [];
      for (const file of this.host.files) agents.push(await loadAgent(file, { env: this.host.env, cwd: this.host.cwd }));
      const config = mergeRuntimeConfig(agents);
      const restart = settingsNeedingRestart(this.host.config, config);
      await this.host.checkAgents?.(agents, config);
      const summary = this.host.reloadRuntime(agents);
      const routes = await this.host.setRoutes(config.webhook_routes);
      if (summary.agents.added.length > 0 || summary.agents.removed.length > 0) await this.host.agentsChanged(agents.map((a) => a.name));
      logger.info(
        { entry_points: summary.entry_points, agents: summary.agents, webhook_routes: routes, duration_ms: Date.now() - startedMs },
        `reloaded: ${describe(summary, routes)}`,
      );
      if (restart.length > 0) {
        logger.warn(
          { settings: restart },
          `restart needed: ${restart.join(", ")} changed in the agent files; a reload does not apply process-wide settings, the old values stay until forager serve restarts`,
        );
      }
    } catch (err) {
      const issues = err instanceof DefinitionError ? err.issues : undefined;
      logger.error({ err: errorMessage(err), ...(issues ? { issues } : {}) }, `reload failed, still serving the previous definitions: ${errorMessage(err)}`);
    } finally {
      await notifier.notify("READY=1");
    }
  }
}

function describe(summary: ReloadSummary, routes: RouteChanges): string {
  const parts: string[] = [];
  const list = (label: string, items: string[]) => {
    if (items.length > 0) parts.push(`${label} ${items.join(", ")}`);
  };
  list("entry points added:", summary.entry_points.added);
  list("entry points changed:", summary.entry_points.changed);
  list("entry points removed:", summary.entry_points.removed);
  list("webhook routes added:", routes.added);
  list("webhook routes changed:", routes.changed);
  list("webhook routes removed:", routes.removed);
  list("agents added:", summary.agents.added);
  list("agents changed:", summary.agents.changed);
  list("agents removed:", summary.agents.removed);
  return parts.length > 0 ? parts.join("; ") : "nothing changed";
}
