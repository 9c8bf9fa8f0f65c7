/**
 * `provider: anthropic`: Anthropic's messages API through `@ai-sdk/anthropic`,
 * imported only when the first model is built.
 */
import type { LlmConfig } from "../config/schema.js";
import type { Logger } from "../logging/index.js";
import type { Clock } from "../util/clock.js";
import { AiSdkProvider } from "./ai-sdk.js";
import type { RetryTiming } from "./retry.js";
import { LlmError } from "./types.js";

const ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com/v1";

export function createAnthropicProvider(
  config: LlmConfig,
  options: { logger: Logger; clock: Clock; retryTiming?: RetryTiming },
): AiSdkProvider {
  if (!config.api_key) {
    // The SDK would otherwise read ANTHROPIC_API_KEY behind forager's back; the agent file says where the key comes from.
    throw new LlmError("llm.api_key is not set for provider anthropic: add `api_key: ${ANTHROPIC_API_KEY}` under llm");
  }
  const apiKey = config.api_key;
  const baseUrl = config.base_url || ANTHROPIC_DEFAULT_BASE_URL;
  return new AiSdkProvider({
    name: "anthropic",
    config,
    baseUrl,
    // AiSdkProvider builds each model once; the package loads on the first.
    createModel: async (modelId) => {
      const { createAnthropic } = await import("@ai-sdk/anthropic");
      return createAnthropic({ baseURL: baseUrl, apiKey }).messages(modelId);
    },
    logger: options.logger,
    clock: options.clock,
    retryTiming: options.retryTiming,
    systemOnlyAtStart: true,
  });
}
