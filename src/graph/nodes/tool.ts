/** `type: tool`: render the arguments, call the tool, write its result to the output keys. */
import type { ToolNode } from "../../config/schema.js";
import { errorMessage } from "../../errors.js";
import { renderTemplate } from "../../expr/index.js";
import { isPlainObject } from "../../util/json.js";
import { NodeFailure } from "../errors.js";
import type { NodeContext, NodeResult } from "./context.js";
import { invokeTool } from "./tool-call.js";

export async function runToolNode(ctx: NodeContext<ToolNode>): Promise<NodeResult> {
  const { node } = ctx;
  let args: unknown;
  try {
    args = renderTemplate(node.args, ctx.scope);
  } catch (err) {
    throw new NodeFailure(`args: ${errorMessage(err)}`, "node_failed", { cause: err });
  }
  let tool;
  try {
    tool = await ctx.services.tools.get(node.tool, ctx.signal);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw new NodeFailure(`tool "${node.tool}" is not available: ${errorMessage(err)}`, "node_failed", { cause: err });
  }
  let result: unknown;
  try {
    result = await invokeTool(ctx, tool, args as Record<string, unknown>);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    // Tool errors usually name the tool already (`tool "x": sh failed ...`): say it once.
    const message = errorMessage(err);
    const named = message.startsWith(`tool "${node.tool}"`) || message.startsWith(`MCP tool "${node.tool}"`);
    throw new NodeFailure(named ? message : `tool "${node.tool}" failed: ${message}`, "node_failed", { cause: err });
  }
  return { values: mapResult(node, result) };
}

/** One output key takes the whole result; several take the result object's fields of the same names. */
function mapResult(node: ToolNode, result: unknown): Record<string, unknown> {
  const keys = node.output_keys;
  if (keys.length === 0) return {};
  if (keys.length === 1) return { [keys[0]!]: result };
  if (!isPlainObject(result)) {
    throw new NodeFailure(
      `tool "${node.tool}" returned ${result === null ? "null" : Array.isArray(result) ? "a list" : typeof result}, ` +
        `but the node has several output keys (${keys.join(", ")}): expected an object with those fields`,
    );
  }
  const values: Record<string, unknown> = {};
  for (const key of keys) values[key] = result[key];
  return values;
}
