import type { Clock, ClockTimer } from "../../src/util/clock.js";
import type { LlmRequest } from "../../src/llm/types.js";

/**
 * A clock that keeps every wait it is asked for but lets it pass after
 * 1 ms, so retry tests check the exact delays without sleeping through them.
 */
export class RecordingClock implements Clock {
  readonly waits: number[] = [];
  now(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): ClockTimer {
    this.waits.push(ms);
    return setTimeout(fn, 1);
  }
  clearTimeout(timer: ClockTimer): void {
    clearTimeout(timer as ReturnType<typeof setTimeout>);
  }
}

export function userRequest(text: string, extra: Partial<LlmRequest> = {}): LlmRequest {
  return {
    node_id: "summarize",
    turn: 1,
    messages: [
      { role: "system", content: "You summarise text." },
      { role: "user", content: text },
    ],
    tools: [],
    ...extra,
  };
}

export const SET_OUTPUT_TOOL = {
  name: "set_output",
  description: "Set an output key",
  input_schema: {
    type: "object",
    properties: { key: { type: "string" }, value: {} },
    required: ["key", "value"],
  },
};

export function never(): AbortSignal {
  return new AbortController().signal;
}
