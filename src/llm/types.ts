/**
 * The provider interface: one call = one LLM turn. The llm node loop in
 * src/graph owns the conversation; providers only translate it to a wire
 * format and back. Every call takes an AbortSignal and must stop when it fires.
 */

/** A tool the model asked to call in its reply (LlmResponse.tool_calls); the llm node runs it and answers with a `tool` message. */
export interface ToolCall {
  /** Provider-assigned id, echoed back in the tool result message. */
  id: string;
  /** The exposed tool name (matches ^[a-zA-Z0-9_-]{1,64}$ for real providers). */
  name: string;
  /** The arguments the model gave, parsed from its JSON. */
  arguments: Record<string, unknown>;
}

/**
 * One message of the conversation in LlmRequest.messages, in forager's own
 * provider-neutral shape: a provider translates it to its wire format.
 */
export type ChatMessage =
  | {
      /** The agent's instructions, first in the conversation. */
      role: "system";
      /** The instructions' text. */
      content: string;
    }
  | {
      /** What the node asks of the model. */
      role: "user";
      /** The prompt's text. */
      content: string;
    }
  | {
      /** An earlier reply of the model. */
      role: "assistant";
      /** The reply's text; empty when it only called tools. */
      content: string;
      /** The tools that reply called, each answered by a `tool` message after it. */
      tool_calls?: ToolCall[];
    }
  | {
      /** The result of one tool call. */
      role: "tool";
      /** The `id` of the ToolCall this answers. */
      tool_call_id: string;
      /** The exposed name of the tool called. */
      name: string;
      /** The tool's result as text (JSON for structured results), or its error message. */
      content: string;
      /** True when the tool failed and `content` is its error. */
      is_error?: boolean;
    };

/** A tool offered to the model in LlmRequest.tools. */
export interface ToolSpec {
  /** The exposed name the model calls it by (^[a-zA-Z0-9_-]{1,64}$). */
  name: string;
  /** What the tool does, shown to the model. */
  description: string;
  /** JSON Schema of the arguments object. */
  input_schema: Record<string, unknown>;
}

/** One LLM turn to complete: the conversation so far and the tools the model may call. */
export interface LlmRequest {
  /** The node making the call and its 1-based turn within that node visit: used by mock and replay. */
  node_id: string;
  /** The 1-based turn within the node visit. */
  turn: number;
  /** Lets a scripted provider keep one cursor per execution when many run at once. */
  execution_id?: string;
  /** The model to ask; default the provider's. */
  model?: string;
  /** The conversation, oldest first: system, user, assistant and tool messages. */
  messages: ChatMessage[];
  /** The tools offered to the model; empty for none. */
  tools: ToolSpec[];
  /** Sampling temperature (0 to 2); default the provider's. */
  temperature?: number;
  /** The most tokens the reply may have; default the provider's. */
  max_tokens?: number;
}

/** Tokens one LLM turn took (LlmResponse.usage), summed into the execution's `usage`. */
export interface TokenUsage {
  /** Tokens of the prompt: the conversation and the tool specs. */
  input_tokens: number;
  /** Tokens of the reply. */
  output_tokens: number;
}

/** The model's reply to one turn. */
export interface LlmResponse {
  /** The reply's text; empty when the model only called tools. */
  text: string;
  /** The tool calls the model made; the llm node runs them and asks again. Empty when it is done. */
  tool_calls: ToolCall[];
  /** Tokens this turn took, counted against `max_tokens` and the cost limit. */
  usage: TokenUsage;
  /** Why the model stopped, in the provider's words (`stop`, `tool_calls`, `length`, ...). */
  finish_reason?: string;
  /** The model that answered, when the provider says. */
  model?: string;
}

/** A model behind one interface: forager's providers (openai, anthropic, mock, replay) or one passed to `new AgentRuntime({ llm })`. */
export interface LlmProvider {
  /** "openai", "anthropic", "mock", "replay". */
  readonly name: string;
  /** Completes one turn; must stop (reject) when `signal` aborts. */
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
