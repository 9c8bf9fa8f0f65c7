/**
 * Picks the LLM provider an agent asks for: the scripted mock, an
 * OpenAI-compatible server or Anthropic, optionally recorded to or
 * replayed from a file. Real providers and the AI SDK load lazily, only
 * when the agent uses them.
 */
import type { LlmConfig } from "../config/schema.js";
import { UsageError } from "../errors.js";
import type { Logger } from "../logging/index.js";
import { holdSecretsWhile } from "../logging/redact.js";
import { systemClock, type Clock } from "../util/clock.js";
import { MockLlmProvider } from "./mock.js";
import type { RetryTiming } from "./retry.js";
import type { LlmProvider } from "./types.js";

export * from "./types.js";
export { MockLlmProvider } from "./mock.js";
export { estimateCostUsd } from "./cost.js";

export interface CreateLlmProviderOptions {
  logger?: Logger;
  /** Append every call to this JSON lines file (`--record`). */
  record?: string;
  /** Answer every call from this recording instead of the configured provider (`--replay`). */
  replay?: string;
  /** Clock for backoff waits and mock delays (tests use a fake one). */
  clock?: Clock;
  /** Backoff tuning (tests shorten it). */
  retryTiming?: RetryTiming;
}

/**
 * Builds the provider for `config`. With `replay` no real provider is
 * built at all (no network, no key). With `record` the provider is wrapped
 * and the file is created now. Call `close()` when the run ends.
 */
export async function createLlmProvider(config: LlmConfig, options: CreateLlmProviderOptions = {}): Promise<LlmProvider> {
  if (options.record && options.replay) {
    throw new UsageError("--record and --replay cannot be used together");
  }
  if (options.replay) {
    const { ReplayLlmProvider } = await import("./replay.js");
    return ReplayLlmProvider.load(options.replay);
  }
  const provider = await createBaseProvider(config, options);
  if (!options.record) return provider;
  const { RecordingLlmProvider } = await import("./record.js");
  return RecordingLlmProvider.create(provider, options.record, config.model);
}

async function createBaseProvider(config: LlmConfig, options: CreateLlmProviderOptions): Promise<LlmProvider> {
  const clock = options.clock ?? systemClock;
  if (config.provider === "mock") return new MockLlmProvider(config, { clock });

  const logger = options.logger ?? (await import("../logging/index.js")).silentLogger();
  routeSdkWarnings(logger);
  const real = { logger, clock, retryTiming: options.retryTiming };
  const provider =
    config.provider === "anthropic"
      ? (await import("./anthropic.js")).createAnthropicProvider(config, real)
      : (await import("./openai.js")).createOpenAiProvider(config, real);
  // The key is scrubbed from logs while the provider that sends it lives.
  holdSecretsWhile(provider, [config.api_key]);
  return provider;
}

interface SdkWarningReport {
  warnings: unknown[];
  provider?: string;
  model?: string;
}

/** The AI SDK prints warnings with console.warn unless given a function: send them to the log instead. */
function routeSdkWarnings(logger: Logger): void {
  (globalThis as { AI_SDK_LOG_WARNINGS?: unknown }).AI_SDK_LOG_WARNINGS = (report: SdkWarningReport) => {
    for (const warning of report.warnings) {
      logger.warn({ provider: report.provider, model: report.model, warning }, `LLM provider warning: ${describeWarning(warning)}`);
    }
  };
}

function describeWarning(warning: unknown): string {
  if (typeof warning !== "object" || warning === null) return String(warning);
  const w = warning as { type?: string; feature?: string; setting?: string; message?: string; details?: string };
  const subject = w.message ?? w.feature ?? w.setting ?? w.type ?? "warning";
  return w.details ? `${subject} (${w.details})` : subject;
}
