/**
 * `--record FILE`: wraps a provider and appends every call (request and
 * response, or the error) to FILE as one JSON line when the call finishes.
 * Secrets are scrubbed from every line, and the provider's key and headers
 * are never part of what is written.
 */
import { open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { ForagerError, errorMessage } from "../errors.js";
import { scrubSecrets } from "../logging/redact.js";
import { isAbortError } from "../util/abort.js";
import type { RecordedCall } from "./recording-format.js";
import { LlmError, type LlmProvider, type LlmRequest, type LlmResponse } from "./types.js";

export class RecordingLlmProvider implements LlmProvider {
  readonly name: string;
  private seq = 0;
  /** Appends are chained so lines never interleave and close() can wait for the last one. */
  private writes: Promise<void> = Promise.resolve();
  private writeError: unknown;
  private closed = false;

  private constructor(
    private readonly inner: LlmProvider,
    private readonly file: FileHandle,
    private readonly path: string,
    private readonly defaultModel: string | undefined,
  ) {
    this.name = inner.name;
  }

  /** Creates (or truncates) FILE and returns the recording wrapper. */
  static async create(inner: LlmProvider, path: string, defaultModel?: string): Promise<RecordingLlmProvider> {
    let file: FileHandle;
    try {
      file = await open(path, "w");
    } catch (err) {
      throw new ForagerError("record_failed", `cannot write the LLM recording ${path}: ${errorMessage(err)}`, {
        hint: `check that ${dirname(path)} exists and is writable`,
      });
    }
    return new RecordingLlmProvider(inner, file, path, defaultModel);
  }

  async complete(request: LlmRequest, signal: AbortSignal): Promise<LlmResponse> {
    // The sequence number is taken when the call starts: that is the order replay answers in.
    const seq = ++this.seq;
    const base = {
      seq,
      node_id: request.node_id,
      turn: request.turn,
      // The model the call actually used: the node's override, else llm.model.
      request: { model: request.model ?? this.defaultModel, messages: request.messages, tools: request.tools },
    };
    try {
      const response = await this.inner.complete(request, signal);
      this.append({
        ...base,
        response: {
          text: response.text,
          tool_calls: response.tool_calls,
          usage: response.usage,
          finish_reason: response.finish_reason,
        },
      });
      return response;
    } catch (err) {
      // A cancelled run is not the model's answer: replaying it would fail a run that was fine.
      if (!isAbortError(err) && !signal.aborted) {
        const status = err instanceof LlmError ? err.status : undefined;
        const retryable = err instanceof LlmError ? err.retryable : undefined;
        this.append({ ...base, error: { message: errorMessage(err), status, retryable } });
      }
      throw err;
    }
  }

  private append(entry: RecordedCall): void {
    const line = scrubSecrets(JSON.stringify(entry)) + "\n";
    this.writes = this.writes
      .then(() => this.file.appendFile(line, "utf8"))
      .catch((err: unknown) => {
        this.writeError ??= err;
      });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.writes;
      await this.inner.close?.();
    } finally {
      await this.file.close();
    }
    if (this.writeError !== undefined) {
      throw new ForagerError("record_failed", `the LLM recording ${this.path} is incomplete: ${errorMessage(this.writeError)}`);
    }
  }
}
