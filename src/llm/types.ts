/**
 * The provider interface: one call = one LLM turn. The llm node loop in
 * src/graph owns the conversation; providers only translate it to a wire
 * format and back. Every call takes an AbortSignal and must stop when it fires.
 */

export interface ToolCall {
  /** Provider-assigned id, echoed back in the tool result message. */
  id: string;
  /** The exposed tool name (matches ^[a-zA-Z0-9_-]{1,64}$ for real providers). */
  name: string;
  arguments: Record<string, unknown>;
}

export type ChatMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; tool_calls?: ToolCall[] }
  | { role: "tool"; tool_call_id: string; name: string; content: string; is_error?: boolean };

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  input_schema: Record<string, unknown>;
}

export interface LlmRequest {
  /** The node making the call and its 1-based turn within that node visit: used by mock and replay. */
  node_id: string;
  turn: number;
  /** Lets a scripted provider keep one cursor per execution when many run at once. */
  execution_id?: string;
  model?: string;
  messages: ChatMessage[];
  tools: ToolSpec[];
  temperature?: number;
  max_tokens?: number;
}

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
}

export interface LlmResponse {
  text: string;
  tool_calls: ToolCall[];
  usage: TokenUsage;
  finish_reason?: string;
  model?: string;
}

export interface LlmProvider {
  /** "openai", "anthropic", "mock", "replay". */
  readonly name: string;
  complete(request: LlmRequest, signal: AbortSignal): Promise<LlmResponse>;
  /** Flushes recordings, closes connections. */
  close?(): Promise<void>;
}

/** A provider error with the provider's own message; fails the node, never a stack trace. */
export class LlmError extends Error {
  readonly status?: number;
  readonly retryable: boolean;
  constructor(message: string, options: { status?: number; retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LlmError";
    this.status = options.status;
    this.retryable = options.retryable ?? false;
  }
}
