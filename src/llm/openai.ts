/**
 * `provider: openai`: any server that speaks OpenAI's chat completions API
 * (OpenAI, Ollama, vLLM, LM Studio, llama.cpp, OpenRouter, ...), through
 * `@ai-sdk/openai-compatible`, imported only when the first model is built.
 */
import type { LlmConfig } from "../config/schema.js";
import type { Logger } from "../logging/index.js";
import type { Clock } from "../util/clock.js";
import { AiSdkProvider } from "./ai-sdk.js";
import type { RetryTiming } from "./retry.js";

const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";

export function createOpenAiProvider(
  config: LlmConfig,
  options: { logger: Logger; clock: Clock; retryTiming?: RetryTiming },
): AiSdkProvider {
  const baseUrl = config.base_url || OPENAI_DEFAULT_BASE_URL;
  return new AiSdkProvider({
    name: "openai",
    config,
    baseUrl,
    // AiSdkProvider builds each model once; the package loads on the first.
    createModel: async (modelId) => {
      const { createOpenAICompatible } = await import("@ai-sdk/openai-compatible");
      return createOpenAICompatible({
        name: "openai",
        baseURL: baseUrl,
        // No key is fine for local servers (Ollama); the SDK then sends no Authorization header.
        apiKey: config.api_key || undefined,
      }).chatModel(modelId);
    },
    logger: options.logger,
    clock: options.clock,
    retryTiming: options.retryTiming,
  });
}
