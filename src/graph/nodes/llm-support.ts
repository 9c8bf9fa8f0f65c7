/** Pieces of the llm node loop: the set_output tool, tool-name matching, prompts, stall detection. */
import type { LlmNode } from "../../config/schema.js";
import type { ToolCall, ToolSpec } from "../../llm/types.js";
import type { Tool } from "../../tools/types.js";
import { safeStringify } from "../../util/json.js";

export const SET_OUTPUT = "set_output";

export function setOutputSpec(node: LlmNode): ToolSpec {
  const nullable = node.output_keys.filter((key) => node.nullable_output_keys.includes(key));
  const required = node.output_keys.filter((key) => !node.nullable_output_keys.includes(key));
  const parts = [`Set one output of this step. Call it once per key.`];
  if (required.length > 0) parts.push(`Required keys: ${required.join(", ")}.`);
  if (nullable.length > 0) parts.push(`Optional keys: ${nullable.join(", ")}.`);
  return {
    name: SET_OUTPUT,
    description: parts.join(" "),
    input_schema: {
      type: "object",
      properties: {
        key: { type: "string", enum: [...node.output_keys], description: "The output key to set" },
        value: { description: "The value: any JSON value" },
      },
      required: ["key", "value"],
      additionalProperties: false,
    },
  };
}

/**
 * Finds the tool a model named: by exposed name (`files__read_file`) or by
 * file name (`files.read_file`); either spelling of an MCP tool works.
 */
export function findTool(tools: readonly Tool[], name: string): Tool | undefined {
  const alternatives = new Set([name, name.replace("__", "."), name.replace(".", "__")]);
  for (const tool of tools) {
    if (alternatives.has(tool.exposedName) || alternatives.has(tool.name)) return tool;
  }
  return undefined;
}

/** The user message when a node has no `prompt`: its description and what it may read. */
export function defaultPrompt(node: LlmNode, memory: Record<string, unknown>): string {
  const lines: string[] = [];
  lines.push(node.description ? node.description : `Complete the step "${node.id}".`);
  lines.push("", "Input (JSON):", safeStringify(memory, 2) ?? "{}");
  if (node.output_keys.length > 0) {
    lines.push("", `When you are done, call ${SET_OUTPUT} for each of these keys: ${node.output_keys.join(", ")}.`);
  }
  return lines.join("\n");
}

export function reminderMessage(missing: readonly string[]): string {
  return (
    `You have not finished this step: call the ${SET_OUTPUT} tool with {"key": ..., "value": ...} ` +
    `for each missing output key: ${missing.join(", ")}. Do not answer with text only.`
  );
}

// ------------------------------------------------------------ stall detection

/** How many consecutive repeats count as a stall. */
const STALL_REPEATS = 3;
/** Texts at least this similar (bigram Dice coefficient) count as the same reply. */
const TEXT_SIMILARITY = 0.9;

export interface Stall {
  reason: "repeated_tool_calls" | "repeated_text";
  detail: string;
}

/**
 * Watches the turns of one node attempt. A stall is three consecutive turns
 * with the same tool calls (names and arguments), or three consecutive
 * near-identical texts that come with the same tool names (or none).
 */
export class StallDetector {
  private callTurns: string[] = [];
  private textTurns: { text: string; tools: string }[] = [];

  observe(text: string, calls: readonly ToolCall[]): Stall | undefined {
    if (calls.length > 0) {
      const signature = safeStringify(calls.map((call) => [call.name, call.arguments])) ?? "";
      this.callTurns = this.callTurns.at(-1) === signature ? [...this.callTurns, signature] : [signature];
      if (this.callTurns.length >= STALL_REPEATS) {
        return { reason: "repeated_tool_calls", detail: `the same tool calls ${STALL_REPEATS} turns in a row: ${calls.map((c) => c.name).join(", ")}` };
      }
    } else {
      this.callTurns = [];
    }
    const normalised = normaliseText(text);
    const tools = calls.map((call) => call.name).join(",");
    const last = this.textTurns.at(-1);
    if (!normalised) {
      this.textTurns = [];
    } else if (last && last.tools === tools && similar(last.text, normalised)) {
      this.textTurns.push({ text: normalised, tools });
    } else {
      this.textTurns = [{ text: normalised, tools }];
    }
    if (this.textTurns.length >= STALL_REPEATS) {
      return { reason: "repeated_text", detail: `${STALL_REPEATS} near-identical replies in a row: "${text.slice(0, 120)}"` };
    }
    return undefined;
  }
}

function normaliseText(text: string): string {
  return text.toLowerCase().replace(/\s+/g, " ").trim();
}

function similar(a: string, b: string): boolean {
  if (a === b) return true;
  return diceCoefficient(a, b) >= TEXT_SIMILARITY;
}

function bigrams(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < text.length - 1; i++) {
    const gram = text.slice(i, i + 2);
    counts.set(gram, (counts.get(gram) ?? 0) + 1);
  }
  return counts;
}

/** Similarity of two texts in [0, 1] by shared character pairs. */
function diceCoefficient(a: string, b: string): number {
  if (a.length < 2 || b.length < 2) return a === b ? 1 : 0;
  const left = bigrams(a);
  const right = bigrams(b);
  let shared = 0;
  for (const [gram, count] of left) shared += Math.min(count, right.get(gram) ?? 0);
  return (2 * shared) / (a.length - 1 + (b.length - 1));
}
