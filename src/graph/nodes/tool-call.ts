/** One tool call with its budget check and events, shared by tool and llm nodes. */
import type { Tool } from "../../tools/types.js";
import { errorMessage } from "../../errors.js";
import { preview } from "../preview.js";
import type { NodeContext } from "./context.js";

/**
 * Calls a tool under the execution's `max_tool_calls` budget and emits
 * `tool_call_started` / `tool_call_completed`. Errors are rethrown for the
 * caller to decide (a tool node fails, an llm node tells the model).
 */
export async function invokeTool(ctx: NodeContext, tool: Tool, args: Record<string, unknown>, callId?: string): Promise<unknown> {
  const { run, node } = ctx;
  const breach = run.budget.startToolCall();
  if (breach) run.exceed(breach, node.id);
  const started = run.clock.now();
  const ids = callId === undefined ? {} : { call_id: callId };
  run.emit("tool_call_started", { tool: tool.name, args: preview(args), ...ids }, node.id);
  try {
    const result = await tool.call(args, {
      signal: ctx.signal,
      scope: ctx.scope,
      logger: ctx.logger,
      publish: (init) => run.publish({ node_id: node.id, ...init }),
      trackProcessGroup: (group) => run.trackProcessGroup(group),
    });
    run.emit(
      "tool_call_completed",
      { tool: tool.name, ...ids, is_error: false, result: preview(result), duration_ms: run.clock.now() - started },
      node.id,
    );
    return result;
  } catch (err) {
    run.emit(
      "tool_call_completed",
      { tool: tool.name, ...ids, is_error: true, error: errorMessage(err), duration_ms: run.clock.now() - started },
      node.id,
    );
    throw err;
  }
}
