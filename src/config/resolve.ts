/**
 * From a valid file to an `Agent`: default entry point, each entry point's
 * entry node and overlap policy, webhook verification defaults, and the
 * secrets the file holds, for log scrubbing.
 */
import { isSecretName } from "../logging/redact.js";
import { DEFAULT_ENTRY_POINT_ID, ENTRY_POINT_DEFAULTS, defaultEntryNode, defaultOverlap } from "./defaults.js";
import type { Agent, AgentFile, EntryPointDef, ResolvedEntryPoint } from "./schema.js";

/** A valid entry point with its entry node and overlap policy filled in: the loader's and registerEntryPoint's one rule. */
export function resolveEntryPointDef(ep: EntryPointDef, graph: Agent["graph"]): ResolvedEntryPoint {
  return { ...ep, entry_node: ep.entry_node ?? defaultEntryNode(graph), overlap: ep.overlap ?? defaultOverlap(ep.max_concurrent) };
}

function headerSecrets(headers: Record<string, string> | undefined): string[] {
  return Object.entries(headers ?? {})
    .filter(([name]) => name.toLowerCase() === "authorization" || isSecretName(name))
    .map(([, value]) => value);
}

function envSecrets(env: Record<string, string> | undefined): string[] {
  return Object.entries(env ?? {})
    .filter(([name]) => isSecretName(name))
    .map(([, value]) => value);
}

/** Every secret value the agent file holds (possibly with repeats and short values, which the scrubber skips). */
export function agentSecrets(file: AgentFile): Array<string | undefined> {
  const found: Array<string | undefined> = [file.llm?.api_key];
  for (const route of file.runtime.webhook_routes) found.push(route.secret, ...(route.secrets ?? []));
  for (const server of Object.values(file.mcp_servers)) {
    // Every MCP header value: they are credentials far more often than not.
    found.push(...Object.values(server.headers), ...envSecrets(server.env));
  }
  for (const tool of Object.values(file.tools)) {
    if (tool.type === "http") found.push(...headerSecrets(tool.headers));
    if (tool.type === "shell") found.push(...envSecrets(tool.env));
  }
  return found;
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
