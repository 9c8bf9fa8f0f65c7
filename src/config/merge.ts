/**
 * `serve` with several agent files (SPEC 6): one process, one set of
 * process-wide settings. A setting comes from the files that set it; two
 * files disagreeing is a definition error, never a silent pick.
 */
import { DefinitionError, type DefinitionIssue } from "../errors.js";
import { issueAt, setsRuntimeKey } from "./provenance.js";
import { runtimeDefaults } from "./defaults.js";
import type { Agent, RuntimeConfig, WebhookRouteDef } from "./schema.js";

export { resolveStoragePath } from "./storage-path.js";

/** Settings one process can only have once. */
export const PROCESS_WIDE_KEYS = [
  "webhook_host",
  "webhook_port",
  "control_host",
  "control_port",
  "storage_path",
  "max_concurrent_executions",
  "shutdown_grace_seconds",
  "session_retention",
  "max_connections",
  "backend",
  "redis_url",
  "redis_prefix",
  "worker_loss",
] as const satisfies readonly (keyof RuntimeConfig)[];

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The runtime settings of several agents as one. Only what a file sets
 * itself counts (for agents built in code, a value other than the default),
 * so a file that leaves a setting alone never conflicts with one that sets it. Webhook routes are concatenated.
 * Throws DefinitionError on conflicts, duplicate route paths or agent names.
 */
export function mergeRuntimeConfig(agents: Agent[]): RuntimeConfig {
  const defaults: RuntimeConfig = runtimeDefaults();
  const merged: RuntimeConfig = { ...defaults, webhook_routes: [] };
  const issues: DefinitionIssue[] = [];

  const names = new Map<string, Agent>();
  for (const agent of agents) {
    const first = names.get(agent.name);
    if (first) issues.push(issueAt(agent, ["name"], `agent name "${agent.name}" is also used by ${first.source_path}; agent names must be unique`));
    else names.set(agent.name, agent);
  }

  for (const key of PROCESS_WIDE_KEYS) {
    let owner: Agent | undefined;
    for (const agent of agents) {
      const value = agent.runtime[key];
      const set = setsRuntimeKey(agent, key) ?? !same(value, defaults[key]);
      if (value === undefined || !set) continue;
      if (!owner) {
        owner = agent;
        (merged as Record<string, unknown>)[key] = value;
      } else if (!same(owner.runtime[key], value)) {
        issues.push(
          issueAt(
            agent,
            ["runtime", key],
            `runtime.${key} is ${JSON.stringify(value)} here but ${JSON.stringify(owner.runtime[key])} in ${owner.source_path}; process-wide settings must agree (set it in one file, or the same in both)`,
          ),
        );
      }
    }
  }

  // Per-agent settings with no process-wide meaning keep the first file's value.
  const first = agents[0];
  if (first) {
    merged.cache_ttl = first.runtime.cache_ttl;
    merged.execution_result_max = first.runtime.execution_result_max;
  }

  const routesByPath = new Map<string, Agent>();
  for (const agent of agents) {
    agent.runtime.webhook_routes.forEach((route: WebhookRouteDef, index) => {
      const owner = routesByPath.get(route.path);
      if (owner) {
        issues.push(
          issueAt(agent, ["runtime", "webhook_routes", index, "path"], `webhook path ${route.path} is also served by ${owner === agent ? "this file" : owner.source_path}; each path may have one route`),
        );
        return;
      }
      routesByPath.set(route.path, agent);
      merged.webhook_routes.push(route);
    });
  }

  if (issues.length > 0) throw new DefinitionError(issues);
  return merged;
}
