/**
 * Inside GitHub Actions, `run` appends a Markdown summary to the step
 * summary file and prints an `::error::` annotation on failure.
 */
import { appendFile } from "node:fs/promises";
import type { ExecutionResult } from "../result.js";
import { formatCost } from "./format-result.js";

export function inGitHubActions(env: NodeJS.ProcessEnv): boolean {
  return env.GITHUB_ACTIONS === "true";
}

/** Workflow commands need `%`, CR and LF escaped. */
export function escapeAnnotation(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

export function errorAnnotation(result: ExecutionResult): string {
  const message = result.error?.message ?? result.status;
  const where = result.error?.node_id ? ` at node ${result.error.node_id}` : "";
  return `::error title=forager ${escapeAnnotation(result.agent)}::${escapeAnnotation(`${result.status}${where}: ${message}`)}`;
}

function cell(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const short = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  // Markdown table cells cannot hold newlines: keep the lines apart with <br>.
  return short.replace(/\|/g, "\\|").replace(/\r?\n/g, "<br>");
}

export function markdownSummary(result: ExecutionResult): string {
  const icon = result.success ? "✅" : "❌";
  const seconds = result.duration_ms === null ? "" : ` in ${(result.duration_ms / 1000).toFixed(2)} s`;
  const lines = [
    `### ${icon} forager: ${result.agent} (${result.entry_point}) ${result.status}${seconds}`,
    "",
    `Execution \`${result.execution_id}\`, path: ${result.path.map((p) => `\`${p}\``).join(" → ") || "(none)"}`,
    "",
  ];
  if (result.error) {
    lines.push(`**Error** \`${result.error.code}\`${result.error.node_id ? ` at \`${result.error.node_id}\`` : ""}: ${cell(result.error.message)}`, "");
  }
  const keys = Object.keys(result.output);
  if (keys.length > 0) {
    lines.push("| output | value |", "|---|---|");
    for (const key of keys) lines.push(`| ${cell(key)} | ${cell(result.output[key])} |`);
    lines.push("");
  }
  const u = result.usage;
  lines.push(
    `LLM calls: ${u.llm_calls}, tool calls: ${u.tool_calls}, tokens: ${u.input_tokens} in / ${u.output_tokens} out, cost: ${formatCost(u.cost_usd)}`,
    "",
  );
  return lines.join("\n");
}

export async function appendStepSummary(env: NodeJS.ProcessEnv, result: ExecutionResult): Promise<void> {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return;
  await appendFile(file, markdownSummary(result) + "\n", "utf8");
}
