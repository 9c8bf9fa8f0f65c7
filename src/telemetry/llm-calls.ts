/**
 * What the bus does not carry about an LLM call, kept briefly for its span:
 * the prompt (only when content is captured) and calls that failed (no
 * `llm_turn_complete` is published for them). A provider wrapper records;
 * the span builder takes the records when the call's or its node's event
 * arrives. The wrapper is per execution and never closes the provider: its
 * owner does. Bounded, so records whose events never come cannot pile up.
 */
import type { ChatMessage, LlmProvider, LlmRequest, LlmResponse } from "../llm/types.js";

export interface FailedLlmCall {
  turn: number;
  startMs: number;
  endMs: number;
  message: string;
  model?: string;
  provider: string;
}

const MAX_RECORDS = 1000;

export class LlmCallLog {
  private readonly prompts = new Map<string, ChatMessage[]>();
  private readonly failures = new Map<string, FailedLlmCall[]>();

  constructor(readonly captureContent: boolean) {}

  recordPrompt(request: LlmRequest): void {
    if (!this.captureContent) return;
    bounded(this.prompts).set(callKey(request.execution_id, request.node_id, request.turn), request.messages);
  }

  recordFailure(request: LlmRequest, failure: FailedLlmCall): void {
    const key = nodeKey(request.execution_id, request.node_id);
    const list = bounded(this.failures).get(key) ?? [];
    list.push(failure);
    this.failures.set(key, list);
  }

  /** The prompt of this call, once. */
  takePrompt(executionId: string | null, nodeId: string | null, turn: unknown): ChatMessage[] | undefined {
    const key = callKey(executionId ?? undefined, nodeId ?? "", typeof turn === "number" ? turn : -1);
    const messages = this.prompts.get(key);
    this.prompts.delete(key);
    return messages;
  }

  /** Failed calls of this node visit so far, once. */
  takeFailures(executionId: string | null, nodeId: string | null): FailedLlmCall[] {
    const key = nodeKey(executionId ?? undefined, nodeId ?? "");
    const list = this.failures.get(key) ?? [];
    this.failures.delete(key);
    return list;
  }

  /** The provider, reporting its calls here. */
  wrap(inner: LlmProvider): LlmProvider {
    const log = this;
    return {
      name: inner.name,
      async complete(request: LlmRequest, signal: AbortSignal): Promise<LlmResponse> {
        log.recordPrompt(request);
        const startMs = Date.now();
        try {
          return await inner.complete(request, signal);
        } catch (err) {
          // A call stopped by a cancel or timeout is not the provider's failure: the execution's span says why.
          if (!signal.aborted) {
            log.recordFailure(request, {
              turn: request.turn,
              startMs,
              endMs: Date.now(),
              message: err instanceof Error ? err.message : String(err),
              provider: inner.name,
              ...(request.model !== undefined ? { model: request.model } : {}),
            });
          }
          throw err;
        }
      },
    };
  }
}

function callKey(executionId: string | undefined, nodeId: string, turn: number): string {
  return `${executionId ?? ""}\u0000${nodeId}\u0000${turn}`;
}

function nodeKey(executionId: string | undefined, nodeId: string): string {
  return `${executionId ?? ""}\u0000${nodeId}`;
}

/** The map, with its oldest entry dropped when full. */
function bounded<V>(map: Map<string, V>): Map<string, V> {
  if (map.size >= MAX_RECORDS) {
    const [oldest] = map.keys();
    if (oldest !== undefined) map.delete(oldest);
  }
  return map;
}
