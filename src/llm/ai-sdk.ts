/**
 * One LLM turn through the AI SDK (`generateText`, one step, no tool
 * execution: forager runs tools itself), shared by the openai-compatible and
 * anthropic providers. Owns forager's retry loop, the per-call timeout, the
 * caller's abort signal and the mapping of the reply back to an LlmResponse.
 *
 * The SDK is imported on the first call, never at module load, so a run
 * without a real LLM never pays for it.
 */
import type { LanguageModel, ToolSet } from "ai";
import type { LlmConfig } from "../config/schema.js";
import type { Logger } from "../logging/index.js";
import { abortReason, rejectOnAbort, sleep, throwIfAborted } from "../util/abort.js";
import type { Clock } from "../util/clock.js";
import { isPlainObject } from "../util/json.js";
import { mapFinishReason, toModelMessages, toolInputSchema } from "./messages.js";
import { classifyFailure } from "./provider-errors.js";
import { DEFAULT_RETRY_TIMING, retryDelayMs, type RetryTiming } from "./retry.js";
import { LlmError, type LlmProvider, type LlmRequest, type LlmResponse, type ToolCall, type ToolSpec } from "./types.js";

type AiModule = typeof import("ai");

export interface AiSdkProviderOptions {
  /** "openai" or "anthropic": used in messages and logs. */
  name: string;
  config: LlmConfig;
  /** The base URL actually used, for error messages. */
  baseUrl: string;
  /** Builds the SDK model object for a model id (imports the provider package lazily). */
  createModel: (modelId: string) => Promise<LanguageModel>;
  logger: Logger;
  /** Backoff waits run on this clock; the per-call timeout bounds real I/O and uses real time. */
  clock: Clock;
  retryTiming?: RetryTiming;
  /** See ConversionOptions.systemOnlyAtStart. */
  systemOnlyAtStart?: boolean;
}

let sdkPromise: Promise<AiModule> | undefined;

function loadSdk(): Promise<AiModule> {
  sdkPromise ??= import("ai");
  return sdkPromise;
}

export class AiSdkProvider implements LlmProvider {
  readonly name: string;
  private readonly options: AiSdkProviderOptions;
  private readonly models = new Map<string, Promise<LanguageModel>>();
  private readonly timing: RetryTiming;

  constructor(options: AiSdkProviderOptions) {
    this.name = options.name;
    this.options = options;
    this.timing = options.retryTiming ?? DEFAULT_RETRY_TIMING;
  }

  async complete(request: LlmRequest, signal: AbortSignal): Promise<LlmResponse> {
    throwIfAborted(signal);
    const { config, logger, clock } = this.options;
    const modelId = request.model ?? config.model;
    if (!modelId) {
      throw new LlmError(`no model set for node ${request.node_id}: set llm.model or the node's model`);
    }
    const [sdk, model] = await Promise.all([loadSdk(), this.modelFor(modelId)]);
    const messages = toModelMessages(request.messages, { systemOnlyAtStart: this.options.systemOnlyAtStart });
    const tools = toSdkTools(sdk, request.tools);
    const maxRetries = config.max_retries;

    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(sdk, { model, modelId, messages, tools, request }, signal);
      } catch (err) {
        if (signal.aborted) throw abortReason(signal);
        const failure = classifyFailure(err, this.name, this.options.baseUrl, clock.now());
        if (!failure.error.retryable || attempt >= maxRetries) {
          if (attempt === 0 || !failure.error.retryable) throw failure.error;
          throw new LlmError(`${failure.error.message} (gave up after ${attempt + 1} attempts)`, {
            status: failure.error.status,
            retryable: true,
            cause: failure.error.cause,
          });
        }
        const delay = retryDelayMs(attempt, failure.retryAfterMs, this.timing);
        logger.warn(
          { node_id: request.node_id, attempt: attempt + 1, status: failure.error.status, delay_ms: delay },
          `LLM call failed, retrying in ${delay} ms: ${failure.error.message}`,
        );
        await sleep(delay, signal, clock);
      }
    }
  }

  private modelFor(modelId: string): Promise<LanguageModel> {
    let model = this.models.get(modelId);
    if (!model) {
      model = this.options.createModel(modelId);
      model.catch(() => this.models.delete(modelId));
      this.models.set(modelId, model);
    }
    return model;
  }

  private async attempt(
    sdk: AiModule,
    call: {
      model: LanguageModel;
      modelId: string;
      messages: ReturnType<typeof toModelMessages>;
      tools: ToolSet | undefined;
      request: LlmRequest;
    },
    signal: AbortSignal,
  ): Promise<LlmResponse> {
    const { config } = this.options;
    const timeoutSeconds = config.timeout_seconds;
    const controller = new AbortController();
    let timedOut = false;
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new LlmError(`LLM call timed out after ${timeoutSeconds}s`));
    }, timeoutSeconds * 1000);
    // The SDK honours the signal, but a race makes sure no stalled body read can outlive it.
    const stopped = rejectOnAbort(controller.signal);
    try {
      const result = await Promise.race([
        sdk.generateText({
          model: call.model,
          messages: call.messages,
          tools: call.tools,
          allowSystemInMessages: true,
          temperature: call.request.temperature ?? config.temperature,
          maxOutputTokens: call.request.max_tokens ?? config.max_tokens,
          maxRetries: 0,
          abortSignal: controller.signal,
        }),
        stopped.promise,
      ]);
      return {
        text: result.text,
        tool_calls: result.toolCalls.map((toolCall) => toForagerToolCall(this.name, toolCall)),
        usage: { input_tokens: result.usage.inputTokens ?? 0, output_tokens: result.usage.outputTokens ?? 0 },
        finish_reason: mapFinishReason(result.finishReason),
        model: result.response?.modelId ?? call.modelId,
      };
    } catch (err) {
      if (timedOut && !signal.aborted) {
        throw new LlmError(`LLM call timed out after ${timeoutSeconds}s`, { cause: err });
      }
      throw err;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      stopped.dispose();
    }
  }
}

function toSdkTools(sdk: AiModule, specs: ToolSpec[]): ToolSet | undefined {
  if (specs.length === 0) return undefined;
  const tools: ToolSet = {};
  for (const spec of specs) {
    // No execute function: the SDK stops after the model's turn and forager runs the tools.
    tools[spec.name] = sdk.tool({
      description: spec.description,
      inputSchema: sdk.jsonSchema(toolInputSchema(spec) as Parameters<AiModule["jsonSchema"]>[0]),
    });
  }
  return tools;
}

interface SdkToolCall {
  toolCallId: string;
  toolName: string;
  input: unknown;
  invalid?: boolean;
  error?: unknown;
}

function toForagerToolCall(provider: string, call: SdkToolCall): ToolCall {
  const unknownTool = call.invalid && call.error instanceof Error && call.error.name === "AI_NoSuchToolError";
  if ((call.invalid && !unknownTool) || !isPlainObject(call.input)) {
    // Arguments that are not a JSON object: say so plainly instead of running a tool with garbage.
    const raw = typeof call.input === "string" ? call.input : JSON.stringify(call.input);
    const shown = raw === undefined ? "nothing" : raw.length > 200 ? `${raw.slice(0, 200)}...` : raw;
    throw new LlmError(
      `${provider} model sent malformed arguments for tool "${call.toolName}" (call ${call.toolCallId}): expected a JSON object, got ${shown}`,
    );
  }
  // An unknown tool name is passed through: the node loop answers the model with an error.
  return { id: call.toolCallId, name: call.toolName, arguments: call.input };
}
