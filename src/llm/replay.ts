/**
 * `--replay FILE`: answers every LLM call from a recording, in order, with
 * no network and no API key. Each call must be the one the recording has
 * next (same node, same turn); otherwise the run fails saying where it
 * diverged. Replay assumes one execution at a time, which is what
 * `forager run` does: concurrent executions would interleave their calls.
 */
import { readFile } from "node:fs/promises";
import { UsageError, errorMessage } from "../errors.js";
import { throwIfAborted } from "../util/abort.js";
import { isPlainObject } from "../util/json.js";
import type { RecordedCall } from "./recording-format.js";
import { LlmError, type LlmProvider, type LlmRequest, type LlmResponse } from "./types.js";

export class ReplayLlmProvider implements LlmProvider {
  readonly name = "replay";
  private next = 0;

  private constructor(
    private readonly calls: RecordedCall[],
    private readonly path: string,
  ) {}

  /** Reads and checks the whole recording up front, so a bad file fails before the run starts. */
  static async load(path: string): Promise<ReplayLlmProvider> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
      throw new UsageError(
        missing ? `the LLM recording ${path} does not exist` : `cannot read the LLM recording ${path}: ${errorMessage(err)}`,
        { hint: "record one first with `forager run AGENT --record FILE`" },
      );
    }
    const calls: RecordedCall[] = [];
    const lines = text.split("\n");
    lines.forEach((line, index) => {
      if (line.trim() === "") return;
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch (err) {
        throw corrupt(path, index + 1, `not JSON (${errorMessage(err)})`);
      }
      const problem = checkEntry(entry);
      if (problem) throw corrupt(path, index + 1, problem);
      calls.push(entry as RecordedCall);
    });
    calls.sort((a, b) => a.seq - b.seq);
    return new ReplayLlmProvider(calls, path);
  }

  async complete(request: LlmRequest, signal: AbortSignal): Promise<LlmResponse> {
    throwIfAborted(signal);
    const callNumber = this.next + 1;
    const recorded = this.calls[this.next];
    if (!recorded) {
      throw new LlmError(
        `replay diverged at call ${callNumber}: the run asked node \`${request.node_id}\` turn ${request.turn}, ` +
          `the recording ${this.path} has only ${this.calls.length} calls`,
      );
    }
    if (recorded.node_id !== request.node_id || recorded.turn !== request.turn) {
      throw new LlmError(
        `replay diverged at call ${callNumber}: the run asked node \`${request.node_id}\` turn ${request.turn}, ` +
          `the recording has node \`${recorded.node_id}\` turn ${recorded.turn}`,
      );
    }
    this.next++;
    if (recorded.error) {
      throw new LlmError(recorded.error.message, { status: recorded.error.status, retryable: recorded.error.retryable });
    }
    const response = recorded.response!;
    return {
      text: response.text,
      tool_calls: response.tool_calls.map((call) => ({ ...call, arguments: { ...call.arguments } })),
      usage: { ...response.usage },
      finish_reason: response.finish_reason,
      model: recorded.request.model,
    };
  }
}

function corrupt(path: string, line: number, problem: string): UsageError {
  return new UsageError(`the LLM recording ${path}:${line} is not a valid entry: ${problem}`, {
    hint: "record it again with `forager run AGENT --record FILE`",
  });
}

function checkEntry(entry: unknown): string | undefined {
  if (!isPlainObject(entry)) return "expected a JSON object";
  if (typeof entry.seq !== "number") return "missing seq";
  if (typeof entry.node_id !== "string") return "missing node_id";
  if (typeof entry.turn !== "number") return "missing turn";
  if (isPlainObject(entry.error)) {
    return typeof entry.error.message === "string" ? undefined : "error without a message";
  }
  const response = entry.response;
  if (!isPlainObject(response)) return "missing response or error";
  if (typeof response.text !== "string") return "response.text is not a string";
  if (!Array.isArray(response.tool_calls)) return "response.tool_calls is not a list";
  if (!isPlainObject(response.usage)) return "response.usage is missing";
  return undefined;
}
