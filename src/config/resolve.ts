/**
 * From a valid file to an `Agent`: default entry point, each entry point's
 * entry node and overlap policy, webhook verification defaults, and the
 * secrets the file holds registered for log scrubbing.
 */
import { registerSecret, isSecretName } from "../logging/redact.js";
import { EntryPointSchema, type Agent, type AgentFile, type EntryPointDef, type ResolvedEntryPoint } from "./schema.js";

function resolveEntryPoint(ep: EntryPointDef, defaultNode: string): ResolvedEntryPoint {
  return {
    ...ep,
    entry_node: ep.entry_node ?? defaultNode,
    // SPEC 4.1: one at a time means "the newest wins", as in Hive's single execution mode.
    overlap: ep.overlap ?? (ep.max_concurrent === 1 ? "cancel_previous" : "queue"),
  };
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
  const defaultNode = file.graph.entry_node ?? file.graph.nodes[0]!.id;
  const declared = file.entry_points ?? [EntryPointSchema.parse({ id: "default", trigger_type: "manual" })];
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
    entry_points: declared.map((ep) => resolveEntryPoint(ep, defaultNode)),
    source_path: sourcePath,
    base_dir: baseDir,
  };
}
