/**
 * From a valid file to an `Agent`: default entry point, each entry point's
 * entry node and overlap policy, webhook verification defaults, and the
 * secrets the file holds registered for log scrubbing.
 */
import { registerSecret, isSecretName } from "../logging/redact.js";
import { DEFAULT_ENTRY_POINT_ID, ENTRY_POINT_DEFAULTS, defaultEntryNode, defaultOverlap } from "./defaults.js";
import type { Agent, AgentFile, EntryPointDef, ResolvedEntryPoint } from "./schema.js";

/** A valid entry point with its entry node and overlap policy filled in: the loader's and registerEntryPoint's one rule. */
export function resolveEntryPointDef(ep: EntryPointDef, graph: Agent["graph"]): ResolvedEntryPoint {
  return { ...ep, entry_node: ep.entry_node ?? defaultEntryNode(graph), overlap: ep.overlap ?? defaultOverlap(ep.max_concurrent) };
}

function registerHeaderSecrets(headers: Record<string, string> | undefined): void {
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === "authorization" || isSecretName(name)) registerSecret(value);
  }
}

function registerEnvSecrets(env: Record<string, string> | undefined): void {
  for (const [name, value] of Object.entries(env ?? {})) if (isSecretName(name)) registerSecret(value);
}

/** Every secret value the agent holds, so no log line can show it. */
export function registerAgentSecrets(file: AgentFile): void {
  registerSecret(file.llm?.api_key);
  for (const route of file.runtime.webhook_routes) {
    registerSecret(route.secret);
    for (const secret of route.secrets ?? []) registerSecret(secret);
  }
  for (const server of Object.values(file.mcp_servers)) {
    // Every MCP header value: they are credentials far more often than not.
    for (const value of Object.values(server.headers)) registerSecret(value);
    registerEnvSecrets(server.env);
  }
  for (const tool of Object.values(file.tools)) {
    if (tool.type === "http") registerHeaderSecrets(tool.headers);
    if (tool.type === "shell") registerEnvSecrets(tool.env);
  }
}

export function resolveAgent(file: AgentFile, sourcePath: string, baseDir: string): Agent {
  const declared: EntryPointDef[] = file.entry_points ?? [{ id: DEFAULT_ENTRY_POINT_ID, trigger_type: "manual", ...ENTRY_POINT_DEFAULTS }];
  const runtime = {
    ...file.runtime,
    webhook_routes: file.runtime.webhook_routes.map((route) =>
      route.verify === undefined && (route.secret !== undefined || route.secrets !== undefined)
        ? { ...route, verify: "github" as const }
        : route,
    ),
  };
  return {
    ...file,
    runtime,
    entry_points: declared.map((ep) => resolveEntryPointDef(ep, file.graph)),
    source_path: sourcePath,
    base_dir: baseDir,
  };
}
