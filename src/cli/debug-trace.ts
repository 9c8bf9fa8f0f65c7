/**
 * `run -v`: what happened inside the execution, at debug level (SPEC 2):
 * node transitions, each LLM turn (model, tokens, duration) and each tool
 * call (name, arguments, duration). Built from the execution's events, so
 * it needs no hooks in the graph; the logger's redaction and secret
 * scrubbing apply to every line.
 */
import type { ForagerEvent } from "../events/types.js";
import type { Logger } from "../logging/index.js";

export function debugTrace(logger: Logger): (event: ForagerEvent) => void {
  const log = logger.child({ component: "trace" });
  // Arguments arrive with the start of a call; they are logged with its end, beside the duration.
  const args = new Map<string, unknown>();
  return (event) => {
    const d = event.data;
    const node = event.node_id ?? undefined;
    switch (event.type) {
      case "node_started":
        return log.debug({ node_id: node, node_type: d.type, visit: d.visit }, `node ${node} started`);
      case "node_completed":
        return log.debug({ node_id: node, duration_ms: d.duration_ms, outputs: d.outputs }, `node ${node} completed`);
      case "node_failed":
        return log.debug({ node_id: node, duration_ms: d.duration_ms, error: d.error }, `node ${node} failed`);
      case "edge_traversed":
        return log.debug({ from: d.from, to: d.to, condition: d.condition }, `edge ${String(d.from)} -> ${String(d.to)}`);
      case "llm_turn_complete": {
        const usage = (d.usage ?? {}) as { input_tokens?: number; output_tokens?: number };
        const model = d.model ?? d.request_model ?? d.provider;
        return log.debug(
          { node_id: node, turn: d.turn, model, input_tokens: usage.input_tokens, output_tokens: usage.output_tokens, duration_ms: d.duration_ms, tool_calls: d.tool_calls },
          `LLM turn ${String(d.turn)} (${String(model)}): ${usage.input_tokens ?? 0} in / ${usage.output_tokens ?? 0} out tokens in ${String(d.duration_ms)}ms`,
        );
      }
      case "tool_call_started":
        args.set(`${String(d.tool)}:${String(d.call_id ?? node)}`, d.args);
        return;
      case "tool_call_completed": {
        const key = `${String(d.tool)}:${String(d.call_id ?? node)}`;
        const callArgs = args.get(key);
        args.delete(key);
        return log.debug(
          { node_id: node, tool: d.tool, args: callArgs, duration_ms: d.duration_ms, is_error: d.is_error, ...(d.is_error ? { error: d.error } : {}) },
          `tool ${String(d.tool)} ${d.is_error ? "failed" : "returned"} in ${String(d.duration_ms)}ms`,
        );
      }
      default:
        return;
    }
  };
}
