/**
 * Execution limits (SPEC 3.6): merging the graph's, the entry point's and
 * the command line's limits, and the budget that enforces them while an
 * execution runs.
 */
import type { Limits, LlmConfig } from "../config/schema.js";
import type { Usage } from "../result.js";
import { estimateCostUsd } from "../llm/cost.js";
import type { TokenUsage } from "../llm/types.js";

const LIMIT_FIELDS = ["timeout_seconds", "max_llm_calls", "max_tool_calls", "max_tokens", "max_cost_usd"] as const;

/** Merges several limit sets field by field; where more than one sets a field, the stricter (smaller) wins. */
export function mergeLimits(...limits: (Limits | undefined)[]): Limits {
  const merged: Limits = {};
  for (const set of limits) {
    if (!set) continue;
    for (const field of LIMIT_FIELDS) {
      const value = set[field];
      if (value === undefined) continue;
      const current = merged[field];
      merged[field] = current === undefined ? value : Math.min(current, value);
    }
  }
  return merged;
}

/** What the budget reports when a limit is hit. */
export interface BudgetBreach {
  limit: "max_llm_calls" | "max_tool_calls" | "max_tokens" | "max_cost_usd";
  limit_value: number;
  used: number;
  message: string;
}

/**
 * Counts what an execution has used and says when a limit is hit. Count
 * limits are checked before a call starts (a call that would go past the
 * limit never starts); tokens and cost can only be known after a call.
 */
export class Budget {
  readonly usage: Usage = { llm_calls: 0, tool_calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };

  constructor(
    private readonly limits: Limits,
    private readonly pricing?: LlmConfig["pricing"],
  ) {}

  /** Breach when one more LLM call would exceed `max_llm_calls`; otherwise counts the call. */
  startLlmCall(): BudgetBreach | undefined {
    return this.startCall("llm_calls", "max_llm_calls", "LLM calls");
  }

  /** Breach when one more tool call would exceed `max_tool_calls`; otherwise counts the call. */
  startToolCall(): BudgetBreach | undefined {
    return this.startCall("tool_calls", "max_tool_calls", "tool calls");
  }

  private startCall(
    counter: "llm_calls" | "tool_calls",
    limit: "max_llm_calls" | "max_tool_calls",
    noun: string,
  ): BudgetBreach | undefined {
    const max = this.limits[limit];
    const used = this.usage[counter];
    if (max !== undefined && used + 1 > max) {
      return {
        limit,
        limit_value: max,
        used,
        message: `${limit} reached: ${used} of ${max} ${noun} used, another call would exceed it`,
      };
    }
    this.usage[counter] = used + 1;
    return undefined;
  }

  /** Adds one call's tokens and cost; breach when the totals went past `max_tokens` or `max_cost_usd`. */
  recordTokens(tokens: TokenUsage | undefined): BudgetBreach | undefined {
    const input = Math.max(0, tokens?.input_tokens ?? 0);
    const output = Math.max(0, tokens?.output_tokens ?? 0);
    this.usage.input_tokens += input;
    this.usage.output_tokens += output;
    if (this.pricing) {
      const cost = estimateCostUsd({ input_tokens: input, output_tokens: output }, this.pricing);
      // Rounded to the nano-dollar so sums of tiny costs do not print as 0.30000000000000004.
      this.usage.cost_usd = Math.round((this.usage.cost_usd + cost) * 1e9) / 1e9;
    }
    const total = this.usage.input_tokens + this.usage.output_tokens;
    const maxTokens = this.limits.max_tokens;
    if (maxTokens !== undefined && total > maxTokens) {
      return {
        limit: "max_tokens",
        limit_value: maxTokens,
        used: total,
        message: `max_tokens exceeded: ${total} tokens used (input ${this.usage.input_tokens} + output ${this.usage.output_tokens}), limit ${maxTokens}`,
      };
    }
    const maxCost = this.limits.max_cost_usd;
    if (maxCost !== undefined && this.usage.cost_usd > maxCost) {
      return {
        limit: "max_cost_usd",
        limit_value: maxCost,
        used: this.usage.cost_usd,
        message: `max_cost_usd exceeded: $${this.usage.cost_usd} spent, limit $${maxCost}`,
      };
    }
    return undefined;
  }
}
