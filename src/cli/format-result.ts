/** The readable summary `run` prints when --json is not given, and per-node progress lines. */
import type { ForagerEvent } from "../events/types.js";
import type { ExecutionResult } from "../result.js";

export interface Paint {
  ok(text: string): string;
  bad(text: string): string;
  dim(text: string): string;
}

export const plainPaint: Paint = { ok: (t) => t, bad: (t) => t, dim: (t) => t };

export function ansiPaint(): Paint {
  const wrap = (code: number) => (text: string) => `\u001b[${code}m${text}\u001b[0m`;
  return { ok: wrap(32), bad: wrap(31), dim: wrap(2) };
}

function formatValue(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return text.includes("\n") ? `\n      ${text.split("\n").join("\n      ")}` : ` ${text}`;
}

export function formatSummary(result: ExecutionResult, paint: Paint = plainPaint): string {
  const ms = result.duration_ms;
  const seconds = ms === null ? "" : ms < 1000 ? ` in ${Math.round(ms)}ms` : ` in ${(ms / 1000).toFixed(2)}s`;
  const head = result.success ? paint.ok(`✔ ${result.status}`) : paint.bad(`✘ ${result.status}`);
  const lines = [`${head} ${result.agent}/${result.entry_point}${seconds} (${result.steps_executed} step${result.steps_executed === 1 ? "" : "s"})`];
  if (result.path.length > 0) lines.push(paint.dim(`  path: ${result.path.join(" → ")}`));
  if (result.error) {
    const where = result.error.node_id ? ` at ${result.error.node_id}` : "";
    lines.push(paint.bad(`  error [${result.error.code}]${where}: ${result.error.message}`));
  }
  const keys = Object.keys(result.output);
  if (keys.length > 0) {
    lines.push("  output:");
    for (const key of keys) lines.push(`    ${key}:${formatValue(result.output[key])}`);
  }
  const u = result.usage;
  if (u.llm_calls > 0 || u.tool_calls > 0) {
    const cost = u.cost_usd > 0 ? `, $${u.cost_usd.toFixed(4)}` : "";
    lines.push(paint.dim(`  usage: ${u.llm_calls} LLM calls, ${u.tool_calls} tool calls, ${u.input_tokens}+${u.output_tokens} tokens${cost}`));
  }
  lines.push(paint.dim(`  execution ${result.execution_id} (session ${result.session_id})`));
  return lines.join("\n") + "\n";
}

/** One stderr line per node start and end, for a person watching a TTY. */
export function progressLine(event: ForagerEvent, paint: Paint = plainPaint): string | undefined {
  const node = event.node_id ?? "";
  const ms = typeof event.data.duration_ms === "number" ? paint.dim(` ${Math.round(event.data.duration_ms)}ms`) : "";
  switch (event.type) {
    case "node_started":
      return paint.dim(`▸ ${node}`);
    case "node_completed":
      return `${paint.ok("✔")} ${node}${ms}`;
    case "node_failed":
      return `${paint.bad("✘")} ${node}: ${String(event.data.error ?? "failed")}`;
    case "node_retry":
      return paint.dim(`↻ ${node} retry ${String(event.data.attempt ?? "")}`);
    case "edge_traversed":
      return paint.dim(`  → ${String(event.data.to ?? "")}`);
    default:
      return undefined;
  }
}
