/**
 * Cross-reference checks that a schema cannot express: edges name nodes,
 * tools exist, cron parses, templates parse, webhook routes are signed.
 * Pure over the parsed file (plus one existence check per function module);
 * every problem is returned, none thrown.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { checkExpression, ExpressionError, templateExpressions } from "../expr/index.js";
import { didYouMean } from "../util/suggest.js";
import type { AgentFile, EntryPointDef } from "./schema.js";
import type { KeyPath } from "./positions.js";
import type { SchemaProblem } from "./zod-issues.js";
import { timerProblems } from "./timer-rules.js";

export { cronProblem, isValidTimeZone } from "./timer-rules.js";

export interface SemanticOptions {
  /** Folder that function modules resolve against; undefined skips the file check. */
  baseDir?: string;
  /**
   * Names that exist in the file even though their definitions failed the
   * schema (and were left out of `file`): references to them are not errors.
   */
  alsoKnown?: { nodes?: string[]; tools?: string[]; servers?: string[] };
  /** Parts of the file were left out: skip checks that need the whole file. */
  partial?: boolean;
}

function expressionProblem(err: unknown): string {
  if (err instanceof ExpressionError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Checks every `{{ }}` inside a value (strings, lists, maps). */
function checkTemplates(value: unknown, path: KeyPath, out: SchemaProblem[]): void {
  if (typeof value === "string") {
    if (!value.includes("{{")) return;
    for (const expression of templateExpressions(value)) {
      try {
        checkExpression(expression);
      } catch (err) {
        out.push({ path, message: `template does not parse: ${expressionProblem(err)}` });
      }
    }
    return;
  }
  if (Array.isArray(value)) value.forEach((item, i) => checkTemplates(item, [...path, i], out));
  else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) checkTemplates(item, [...path, key], out);
  }
}

function checkCondition(expression: string | undefined, path: KeyPath, out: SchemaProblem[]): void {
  if (expression === undefined) return;
  try {
    checkExpression(expression);
  } catch (err) {
    out.push({ path, message: `condition does not parse: ${expressionProblem(err)}` });
  }
}

function checkEntryPoint(ep: EntryPointDef, index: number, nodeIds: string[], out: SchemaProblem[]): void {
  const base: KeyPath = ["entry_points", index];
  if (ep.entry_node !== undefined && !nodeIds.includes(ep.entry_node)) {
    out.push({ path: [...base, "entry_node"], message: `no node "${ep.entry_node}"${didYouMean(ep.entry_node, nodeIds)}` });
  }
  if (ep.trigger_type === "timer") {
    for (const problem of timerProblems(ep.trigger_config)) {
      out.push({ path: [...base, "trigger_config", ...(problem.key ? [problem.key] : [])], message: problem.message });
    }
  }
  if (ep.trigger_type === "event") checkCondition(ep.trigger_config.when, [...base, "trigger_config", "when"], out);
}

export function semanticProblems(file: AgentFile, options: SemanticOptions = {}): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  const nodes = file.graph.nodes;
  const toolNames = [...new Set([...Object.keys(file.tools), ...(options.alsoKnown?.tools ?? [])])];
  const serverNames = [...new Set([...Object.keys(file.mcp_servers), ...(options.alsoKnown?.servers ?? [])])];

  // Node ids
  const firstNode = new Map<string, number>();
  nodes.forEach((node, i) => {
    const first = firstNode.get(node.id);
    if (first !== undefined) out.push({ path: ["graph", "nodes", i, "id"], message: `duplicate node id "${node.id}" (first used by graph.nodes[${first}])` });
    else firstNode.set(node.id, i);
  });
  for (const id of options.alsoKnown?.nodes ?? []) if (!firstNode.has(id)) firstNode.set(id, -1);
  const uniqueIds = [...firstNode.keys()];
  if (file.graph.entry_node !== undefined && !firstNode.has(file.graph.entry_node)) {
    out.push({ path: ["graph", "entry_node"], message: `no node "${file.graph.entry_node}"${didYouMean(file.graph.entry_node, uniqueIds)}` });
  }

  // Edges
  file.graph.edges.forEach((edge, i) => {
    for (const end of ["from", "to"] as const) {
      if (!firstNode.has(edge[end])) {
        out.push({ path: ["graph", "edges", i, end], message: `no node "${edge[end]}"${didYouMean(edge[end], uniqueIds)}` });
      }
    }
    checkCondition(edge.when, ["graph", "edges", i, "when"], out);
  });

  // Outputs
  const nodeOutputs = new Set(nodes.flatMap((n) => n.output_keys));
  (file.graph.output_keys ?? []).forEach((key, i) => {
    if (!nodeOutputs.has(key) && !options.partial) {
      out.push({ path: ["graph", "output_keys", i], message: `no node writes "${key}" (no node lists it in output_keys)${didYouMean(key, nodeOutputs)}` });
    }
  });
  const graphOutputs = file.graph.output_keys ?? [...nodeOutputs];
  file.graph.nullable_output_keys.forEach((key, i) => {
    if (!graphOutputs.includes(key)) out.push({ path: ["graph", "nullable_output_keys", i], message: `"${key}" is not one of the output keys (${graphOutputs.join(", ") || "none"})` });
  });

  // Nodes
  let hasLlmNode = false;
  nodes.forEach((node, i) => {
    const base: KeyPath = ["graph", "nodes", i];
    node.nullable_output_keys.forEach((key, k) => {
      if (!node.output_keys.includes(key)) out.push({ path: [...base, "nullable_output_keys", k], message: `"${key}" is not one of this node's output_keys (${node.output_keys.join(", ") || "none"})` });
    });
    if (node.type === "llm") {
      hasLlmNode = true;
      node.tools.forEach((name, k) => {
        const problem = llmToolProblem(name, toolNames, serverNames);
        if (problem) out.push({ path: [...base, "tools", k], message: problem });
      });
      checkTemplates(node.system_prompt, [...base, "system_prompt"], out);
      checkTemplates(node.prompt, [...base, "prompt"], out);
      if (file.llm && file.llm.provider !== "mock" && !file.llm.model && !node.model) {
        out.push({ path: [...base], message: `provider ${file.llm.provider} needs a model: set llm.model, or model on this node` });
      }
    } else if (node.type === "tool") {
      const dot = node.tool.indexOf(".");
      const known = toolNames.includes(node.tool) || (dot > 0 && serverNames.includes(node.tool.slice(0, dot)) && !node.tool.endsWith(".*"));
      if (!known) {
        out.push({ path: [...base, "tool"], message: `no tool "${node.tool}" in tools${didYouMean(node.tool, toolNames)}${toolNames.length ? "" : " (the file defines no tools)"}` });
      }
      checkTemplates(node.args, [...base, "args"], out);
    } else if (options.baseDir !== undefined) {
      const full = resolve(options.baseDir, node.module);
      if (!existsSync(full)) out.push({ path: [...base, "module"], message: `module file not found: ${full}` });
    }
  });

  // LLM
  if (hasLlmNode && !file.llm && !options.partial) {
    out.push({ path: ["graph", "nodes", nodes.findIndex((n) => n.type === "llm"), "type"], message: "an llm node needs an `llm` section (provider, model) at the top of the file" });
  }
  if (file.llm?.responses && !options.partial) {
    const llmIds = nodes.filter((n) => n.type === "llm").map((n) => n.id);
    for (const key of Object.keys(file.llm.responses)) {
      if (key !== "*" && !llmIds.includes(key)) {
        out.push({ path: ["llm", "responses", key], target: "key", message: `no llm node "${key}"${didYouMean(key, llmIds)}; keys are llm node ids or "*"` });
      }
    }
  }
  if (file.llm && file.llm.provider !== "mock" && file.llm.responses) {
    out.push({ path: ["llm", "responses"], message: `responses apply to provider mock only; found provider ${file.llm.provider}` });
  }

  // Tools and MCP servers
  for (const [name, tool] of Object.entries(file.tools)) {
    if (name.includes(".")) out.push({ path: ["tools", name], message: `tool names may not contain "." (that form names MCP tools: SERVER.TOOL)` });
    const { description: _d, input_schema: _s, ...rest } = tool;
    checkTemplates(rest, ["tools", name], out);
  }
  for (const [name, server] of Object.entries(file.mcp_servers)) {
    if ((server.command === undefined) === (server.url === undefined)) {
      out.push({ path: ["mcp_servers", name], message: `an MCP server needs exactly one of command (stdio) or url (HTTP); found ${server.command ? "both" : "neither"}` });
    }
    if (name.includes(".")) out.push({ path: ["mcp_servers", name], message: `server names may not contain "."` });
  }

  // Entry points
  const entryIds = new Map<string, number>();
  (file.entry_points ?? []).forEach((ep, i) => {
    const first = entryIds.get(ep.id);
    if (first !== undefined) out.push({ path: ["entry_points", i, "id"], message: `duplicate entry point id "${ep.id}" (first used by entry_points[${first}])` });
    else entryIds.set(ep.id, i);
    checkEntryPoint(ep, i, uniqueIds, out);
  });

  // Webhook routes
  const paths = new Map<string, number>();
  const sources = new Map<string, number>();
  file.runtime.webhook_routes.forEach((route, i) => {
    const base: KeyPath = ["runtime", "webhook_routes", i];
    const signed = route.secret !== undefined || route.secrets !== undefined;
    if (!signed && !route.allow_unsigned) {
      out.push({ path: base, message: `webhook route ${route.path} has no secret: set secret (or secrets), or allow_unsigned: true to accept unsigned requests` });
    }
    if (route.secret !== undefined && route.secrets !== undefined) {
      out.push({ path: [...base, "secrets"], message: "give secret or secrets, not both" });
    }
    if (route.verify === "hmac" && !route.header) {
      out.push({ path: [...base, "verify"], message: "verify: hmac needs header (the request header holding the signature)" });
    }
    const samePath = paths.get(route.path);
    if (samePath !== undefined) out.push({ path: [...base, "path"], message: `duplicate route path ${route.path} (first used by runtime.webhook_routes[${samePath}])` });
    else paths.set(route.path, i);
    const sameSource = sources.get(route.source_id);
    if (sameSource !== undefined) out.push({ path: [...base, "source_id"], message: `duplicate source_id "${route.source_id}" (first used by runtime.webhook_routes[${sameSource}])` });
    else sources.set(route.source_id, i);
  });

  return out;
}

function llmToolProblem(name: string, toolNames: string[], serverNames: string[]): string | undefined {
  if (toolNames.includes(name)) return undefined;
  const dot = name.indexOf(".");
  if (dot > 0) {
    const server = name.slice(0, dot);
    if (serverNames.includes(server) && name.length > dot + 1) return undefined;
    return `no MCP server "${server}" in mcp_servers${didYouMean(server, serverNames)}`;
  }
  return `no tool "${name}" in tools${didYouMean(name, toolNames)}; MCP tools are written SERVER.TOOL or SERVER.*`;
}
