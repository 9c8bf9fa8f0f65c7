/**
 * The recording file of `--record` / `--replay`: JSON lines, one object per
 * LLM call, in call order (`seq` counts from 1).
 */
import type { ChatMessage, LlmResponse, ToolSpec } from "./types.js";

export interface RecordedCall {
  seq: number;
  node_id: string;
  turn: number;
  request: { model?: string; messages: ChatMessage[]; tools: ToolSpec[] };
  /** Present when the call answered. */
  response?: Pick<LlmResponse, "text" | "tool_calls" | "usage" | "finish_reason">;
  /** Present when the call failed: replay fails the same way. */
  error?: { message: string; status?: number; retryable?: boolean };
}
