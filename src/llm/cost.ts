/** What LLM tokens cost, from the agent's `llm.pricing`. */
import type { LlmConfig } from "../config/schema.js";
import type { TokenUsage } from "./types.js";

/** Cost in US dollars of `usage` at `pricing` (per million tokens); 0 without pricing. */
export function estimateCostUsd(usage: TokenUsage, pricing?: LlmConfig["pricing"]): number {
  if (!pricing) return 0;
  return (usage.input_tokens * pricing.input_per_million + usage.output_tokens * pricing.output_per_million) / 1_000_000;
}
