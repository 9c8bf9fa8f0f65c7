/** The readable summary `run` prints when --json is not given, and per-node progress lines. */
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

/** One style for every duration the CLI shows: `480ms` below a second, `1.02s` from there. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

/** `1 step`, `2 steps`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Dollars with enough digits that a small cost is not shown as $0.0000. */
export function formatCost(usd: number): string {
  if (usd === 0) return "$0";
  if (usd >= 0.01) return `$${usd.toFixed(2)}`;
  return `$${usd.toPrecision(2)}`;
}

/** A status as words: `timed_out` reads "timed out". */
export function statusWords(status: string): string {
  return status.replace(/_/g, " ");
}

/**
 * The failure's message without a leading `node "x" failed: `, which the
 * `at node x` beside it already says.
 */
export function failureMessage(result: Pick<ExecutionResult, "error">): string {
  const error = result.error;
  if (!error) return "no details";
  const prefix = error.node_id ? `node "${error.node_id}" failed: ` : "";
  return prefix && error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

/** The final line of a failed run: `execution timed out at node x: <message>`. */
export function describeFailure(result: Pick<ExecutionResult, "status" | "error">): string {
  const where = result.error?.node_id ? ` at node ${result.error.node_id}` : "";
  const message = failureMessage(result);
  const head = `execution ${statusWords(result.status)}`;
  // "execution timed out after 1s (--timeout)" already says what happened: do not say it twice.
  if (message.startsWith(head)) return `${message}${where}`;
  return `${head}${where}: ${message}`;
}

export function formatSummary(result: ExecutionResult, paint: Paint = plainPaint): string {
  const ms = result.duration_ms;
  const seconds = ms === null ? "" : ` in ${formatDuration(ms)}`;
  const head = result.success ? paint.ok(`✔ ${statusWords(result.status)}`) : paint.bad(`✘ ${statusWords(result.status)}`);
  const lines = [`${head} ${result.agent}/${result.entry_point}${seconds} (${plural(result.steps_executed, "step")})`];
  if (result.path.length > 0) lines.push(paint.dim(`  path: ${result.path.join(" → ")}`));
  if (result.error) {
    const where = result.error.node_id ? ` at node ${result.error.node_id}` : "";
    lines.push(paint.bad(`  error [${result.error.code}]${where}: ${failureMessage(result)}`));
  }
  const keys = Object.keys(result.output);
  if (keys.length > 0) {
    lines.push("  output:");
    for (const key of keys) lines.push(`    ${key}:${formatValue(result.output[key])}`);
  }
  const u = result.usage;
  if (u.llm_calls > 0 || u.tool_calls > 0) {
    lines.push(paint.dim(`  usage: ${formatUsage(u)}`));
  }
  lines.push(paint.dim(`  execution ${result.execution_id} (session ${result.session_id})`));
  return lines.join("\n") + "\n";
}

/** The usage line `run`'s summary and `sessions show` share. */
export function formatUsage(u: ExecutionResult["usage"]): string {
  const cost = u.cost_usd > 0 ? `, ${formatCost(u.cost_usd)}` : "";
  return `${plural(u.llm_calls, "LLM call")}, ${plural(u.tool_calls, "tool call")}, ${u.input_tokens} in / ${u.output_tokens} out tokens${cost}`;
}
