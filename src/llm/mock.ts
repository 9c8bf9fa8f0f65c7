/**
 * The scripted model (`provider: mock`): offline runs, demos and tests.
 * Replies come from `llm.responses`, per node id in order, then from "*".
 * Kept free of heavy imports: a mock run must never load the AI SDK.
 */
import type { LlmConfig, MockResponse } from "../config/schema.js";
import { sleep, throwIfAborted } from "../util/abort.js";
import { systemClock, type Clock } from "../util/clock.js";
import { LlmError, type ChatMessage, type LlmProvider, type LlmRequest, type LlmResponse, type ToolCall } from "./types.js";

/** Roughly four characters per token: good enough for budgets and demos. */
const CHARS_PER_TOKEN = 4;

/** Cursors of executions that never said goodbye are dropped past this many (serve runs forever). */
const MAX_TRACKED_EXECUTIONS = 10_000;

interface ExecutionScript {
  /** Next response index per node id. */
  cursors: Map<string, number>;
  /** Source of `call_N` ids, per execution so concurrent runs see the same ids. */
  nextCallId: number;
}

export class MockLlmProvider implements LlmProvider {
  readonly name = "mock";
  private readonly responses: Record<string, MockResponse[]>;
  private readonly clock: Clock;
  private readonly executions = new Map<string, ExecutionScript>();
  private readonly model: string;

  constructor(config: Pick<LlmConfig, "responses" | "model">, options: { clock?: Clock } = {}) {
    this.responses = config.responses ?? {};
    this.clock = options.clock ?? systemClock;
    this.model = config.model ?? "mock";
  }

  async complete(request: LlmRequest, signal: AbortSignal): Promise<LlmResponse> {
    throwIfAborted(signal);
    const script = this.scriptFor(request.execution_id ?? "");
    const own = this.responses[request.node_id] ?? [];
    const shared = this.responses["*"] ?? [];
    const index = script.cursors.get(request.node_id) ?? 0;
    const scripted = index < own.length ? own[index] : shared[index - own.length];
    if (scripted === undefined) {
      const had = own.length + shared.length;
      throw new LlmError(
        `mock LLM has no response left for node ${request.node_id} (it had ${had}; add more under llm.responses.${request.node_id})`,
      );
    }
    script.cursors.set(request.node_id, index + 1);

    if (scripted.delay !== undefined && scripted.delay > 0) {
      await sleep(scripted.delay * 1000, signal, this.clock);
    }
    if (scripted.error !== undefined) throw new LlmError(scripted.error);

    const toolCalls: ToolCall[] = (scripted.tool_calls ?? []).map((call) => ({
      id: `call_${script.nextCallId++}`,
      name: call.name,
      arguments: { ...call.arguments },
    }));
    const text = scripted.text ?? "";
    return {
      text,
      tool_calls: toolCalls,
      usage: scripted.usage ?? {
        input_tokens: estimateTokens(messagesLength(request.messages)),
        output_tokens: estimateTokens(text.length + (toolCalls.length ? JSON.stringify(toolCalls).length : 0)),
      },
      finish_reason: toolCalls.length > 0 ? "tool_calls" : "stop",
      model: request.model ?? this.model,
    };
  }

  async close(): Promise<void> {
    this.executions.clear();
  }

  private scriptFor(executionId: string): ExecutionScript {
    let script = this.executions.get(executionId);
    if (!script) {
      if (this.executions.size >= MAX_TRACKED_EXECUTIONS) {
        // Maps iterate in insertion order: the first key is the oldest execution.
        const oldest = this.executions.keys().next().value;
        if (oldest !== undefined) this.executions.delete(oldest);
      }
      script = { cursors: new Map(), nextCallId: 1 };
      this.executions.set(executionId, script);
    }
    return script;
  }
}

function estimateTokens(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

function messagesLength(messages: ChatMessage[]): number {
  let total = 0;
  for (const message of messages) {
    total += message.content.length;
    if (message.role === "assistant" && message.tool_calls?.length) total += JSON.stringify(message.tool_calls).length;
  }
  return total;
}
