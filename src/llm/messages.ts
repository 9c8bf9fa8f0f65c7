/**
 * Translation between forager's chat messages and the AI SDK's
 * ModelMessage / tool shapes. Pure functions, types only from the SDK.
 */
import type { ModelMessage, ToolResultPart, ToolCallPart, TextPart } from "ai";
import type { ChatMessage, ToolSpec } from "./types.js";

export interface ConversionOptions {
  /**
   * Anthropic accepts system text only before the conversation: a system
   * message that comes later (a reminder from the node loop) is sent as a
   * user message instead of being rejected by the API.
   */
  systemOnlyAtStart?: boolean;
}

export function toModelMessages(messages: ChatMessage[], options: ConversionOptions = {}): ModelMessage[] {
  const out: ModelMessage[] = [];
  for (const message of messages) {
    switch (message.role) {
      case "system":
        if (options.systemOnlyAtStart && out.some((m) => m.role !== "system")) {
          out.push({ role: "user", content: message.content });
        } else {
          out.push({ role: "system", content: message.content });
        }
        break;
      case "user":
        out.push({ role: "user", content: message.content });
        break;
      case "assistant": {
        if (!message.tool_calls?.length) {
          out.push({ role: "assistant", content: message.content });
          break;
        }
        const parts: Array<TextPart | ToolCallPart> = [];
        if (message.content) parts.push({ type: "text", text: message.content });
        for (const call of message.tool_calls) {
          parts.push({ type: "tool-call", toolCallId: call.id, toolName: call.name, input: call.arguments });
        }
        out.push({ role: "assistant", content: parts });
        break;
      }
      case "tool": {
        const part: ToolResultPart = {
          type: "tool-result",
          toolCallId: message.tool_call_id,
          toolName: message.name,
          output: message.is_error ? { type: "error-text", value: message.content } : { type: "text", value: message.content },
        };
        // Results of one turn's calls travel together (Anthropic wants them in one user message).
        const previous = out[out.length - 1];
        if (previous?.role === "tool") previous.content.push(part);
        else out.push({ role: "tool", content: [part] });
        break;
      }
    }
  }
  return out;
}

/** JSON Schema for a tool's arguments: always an object schema, as both APIs require. */
export function toolInputSchema(spec: ToolSpec): Record<string, unknown> {
  const schema = spec.input_schema ?? {};
  if (schema.type === undefined) return { type: "object", properties: {}, ...schema };
  return schema;
}

/** The SDK's finish reasons in forager's snake_case ("tool-calls" -> "tool_calls"). */
export function mapFinishReason(reason: string | undefined): string | undefined {
  return reason?.replace(/-/g, "_");
}
