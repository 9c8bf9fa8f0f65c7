/**
 * The ToolResolver of an agent: file tools (`fetch_page`), MCP tools
 * (`SERVER.TOOL`, `SERVER.*`) and the names models use (`SERVER__TOOL`).
 * File tools are built on first use; MCP servers start on first use.
 */
import type { Agent, ToolDef } from "../config/schema.js";
import { silentLogger, type Logger } from "../logging/index.js";
import { createHttpTool } from "./http-tool.js";
import { createShellTool } from "./shell-tool.js";
import { createEmitTool } from "./emit-tool.js";
import { McpServerConnection } from "./mcp.js";
import { closestName, couldBeExposedBy, exposedName } from "./names.js";
import { ToolError, type Tool, type ToolResolver } from "./types.js";

export interface ToolResolverOptions {
  logger?: Logger;
  /** Environment for shell tools (their own `env` goes on top); default process.env. */
  env?: NodeJS.ProcessEnv;
}

function buildFileTool(name: string, def: ToolDef, agent: Agent, env: NodeJS.ProcessEnv): Tool {
  switch (def.type) {
    case "http":
      return createHttpTool(name, def);
    case "shell":
      return createShellTool(name, def, agent.base_dir, env);
    case "emit":
      return createEmitTool(name, def);
  }
}

/** Creates the resolver for one agent. No I/O happens until a tool is asked for. */
export function createToolResolver(agent: Agent, options: ToolResolverOptions = {}): ToolResolver {
  const logger = options.logger ?? silentLogger();
  const env = options.env ?? process.env;
  const fileDefs = new Map(Object.entries(agent.tools ?? {}));
  const fileTools = new Map<string, Tool>();
  const fileByExposed = new Map([...fileDefs.keys()].map((name) => [exposedName(name), name]));
  const servers = new Map(
    Object.entries(agent.mcp_servers ?? {}).map(([name, def]) => [
      name,
      new McpServerConnection(name, def, { baseDir: agent.base_dir, logger: logger.child({ mcp_server: name }) }),
    ]),
  );
  // Longest server name first, so `a.b.tool` finds server `a.b` before `a`.
  const serverNames = [...servers.keys()].sort((a, b) => b.length - a.length);
  let closing: Promise<void> | undefined;

  function fileTool(name: string): Tool {
    let tool = fileTools.get(name);
    if (!tool) {
      tool = buildFileTool(name, fileDefs.get(name)!, agent, env);
      fileTools.set(name, tool);
    }
    return tool;
  }

  function unknown(name: string, candidates: Iterable<string>): ToolError {
    const pool = [...candidates, ...fileDefs.keys(), ...[...servers.keys()].map((server) => `${server}.*`)];
    const hint = closestName(name, pool);
    const known = fileDefs.size + servers.size === 0 ? " (the agent defines no tools or mcp_servers)" : "";
    return new ToolError(name, `unknown tool "${name}"${hint ? ` (did you mean "${hint}"?)` : known}`);
  }

  async function serverTools(server: string, signal?: AbortSignal): Promise<Tool[]> {
    const connection = servers.get(server);
    if (!connection) {
      const hint = closestName(server, servers.keys());
      throw new ToolError(`${server}.*`, `unknown MCP server "${server}"${hint ? ` (did you mean "${hint}"?)` : ""}`);
    }
    return connection.tools(signal);
  }

  async function get(name: string, signal?: AbortSignal): Promise<Tool> {
    if (fileDefs.has(name)) return fileTool(name);
    const fromExposed = fileByExposed.get(name);
    if (fromExposed !== undefined) return fileTool(fromExposed);

    const server = serverNames.find((candidate) => name.startsWith(`${candidate}.`));
    if (server !== undefined) {
      const tools = await serverTools(server, signal);
      const found = tools.find((tool) => tool.name === name);
      if (found) return found;
      throw unknown(name, tools.map((tool) => tool.name));
    }

    const seen: string[] = [];
    for (const candidate of serverNames) {
      if (!couldBeExposedBy(candidate, name)) continue;
      const tools = await serverTools(candidate, signal);
      const found = tools.find((tool) => tool.exposedName === name);
      if (found) return found;
      seen.push(...tools.map((tool) => tool.exposedName));
    }
    throw unknown(name, seen);
  }

  async function resolve(names: readonly string[], signal?: AbortSignal): Promise<Tool[]> {
    const out = new Map<string, Tool>();
    for (const name of names) {
      const tools = name.endsWith(".*") ? await serverTools(name.slice(0, -2), signal) : [await get(name, signal)];
      for (const tool of tools) if (!out.has(tool.name)) out.set(tool.name, tool);
    }
    return [...out.values()];
  }

  function close(): Promise<void> {
    closing ??= Promise.allSettled([...servers.values()].map((connection) => connection.close())).then(() => undefined);
    return closing;
  }

  return { get, resolve, close };
}
