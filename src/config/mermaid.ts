/**
 * `forager graph`: the agent's graph as a Mermaid flowchart. Node shapes
 * tell the type (llm rounded, tool subroutine, function hexagon), entry
 * points are stadiums pointing at their entry node, failure edges dashed.
 */
import type { Agent, EdgeDef, NodeDef } from "./schema.js";

/** Mermaid ids must be plain words; labels carry the real names. */
function safeId(prefix: string, name: string, index: number): string {
  return `${prefix}${index}_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

/** Text inside "...": quotes and markup characters as Mermaid entities. */
export function mermaidText(text: string): string {
  return text
    .replace(/&/g, "#amp;")
    .replace(/"/g, "#quot;")
    .replace(/</g, "#lt;")
    .replace(/>/g, "#gt;")
    .replace(/\|/g, "#124;")
    .replace(/[\r\n]+/g, " ");
}

function nodeShape(id: string, node: NodeDef): string {
  const label = mermaidText(node.id);
  switch (node.type) {
    case "llm":
      return `${id}("${label}<br/><small>llm</small>")`;
    case "tool":
      return `${id}[["${label}<br/><small>tool: ${mermaidText(node.tool)}</small>"]]`;
    case "function":
      return `${id}{{"${label}<br/><small>function</small>"}}`;
  }
}

function edgeLabel(edge: EdgeDef): string {
  const parts: string[] = [];
  if (edge.condition !== "on_success") parts.push(edge.condition);
  if (edge.when) parts.push(`when ${edge.when}`);
  if (edge.priority !== 0) parts.push(`priority ${edge.priority}`);
  return parts.join(", ");
}

export function renderMermaid(agent: Agent): string {
  const lines = ["flowchart TD"];
  const ids = new Map<string, string>();
  agent.graph.nodes.forEach((node, i) => {
    if (!ids.has(node.id)) ids.set(node.id, safeId("n", node.id, i));
  });
  agent.entry_points.forEach((ep, i) => {
    const id = safeId("ep", ep.id, i);
    const kind = ep.trigger_type === "timer" ? timerText(ep.trigger_config) : ep.trigger_type;
    lines.push(`  ${id}(["${mermaidText(ep.id)}<br/><small>${mermaidText(kind)}</small>"])`);
  });
  agent.graph.nodes.forEach((node) => lines.push(`  ${nodeShape(ids.get(node.id)!, node)}`));
  agent.entry_points.forEach((ep, i) => {
    const target = ids.get(ep.entry_node);
    if (target) lines.push(`  ${safeId("ep", ep.id, i)} -.-> ${target}`);
  });
  for (const edge of agent.graph.edges) {
    const from = ids.get(edge.from);
    const to = ids.get(edge.to);
    if (!from || !to) continue;
    // Failure edges end in a cross (`--x`), so they cannot be mistaken for
    // the dotted links from entry points.
    const arrow = edge.condition === "on_failure" ? "--x" : edge.condition === "always" ? "==>" : "-->";
    const label = edgeLabel(edge);
    lines.push(label ? `  ${from} ${arrow}|"${mermaidText(label)}"| ${to}` : `  ${from} ${arrow} ${to}`);
  }
  lines.push("  classDef entry fill:#eef,stroke:#88a");
  const entryIds = agent.entry_points.map((ep, i) => safeId("ep", ep.id, i));
  if (entryIds.length) lines.push(`  class ${entryIds.join(",")} entry`);
  return `${lines.join("\n")}\n`;
}

function timerText(cfg: { cron?: string; interval_minutes?: number; interval_seconds?: number; timezone?: string }): string {
  if (cfg.cron) return `cron ${cfg.cron}${cfg.timezone ? ` ${cfg.timezone}` : ""}`;
  if (cfg.interval_minutes) return `every ${cfg.interval_minutes}m`;
  if (cfg.interval_seconds) return `every ${cfg.interval_seconds}s`;
  return "timer";
}
