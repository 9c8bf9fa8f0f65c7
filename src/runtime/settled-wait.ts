/**
 * waitForCompletion: an execution's result once it has finished, undefined
 * after `timeoutMs` or for an unknown id, the signal's reason once aborted.
 */
import { checkOptions, InvalidOptionError } from "../errors.js";
import { isTerminal, type ExecutionResult } from "../result.js";
import { abortReason } from "../util/abort.js";
import { WAIT_OPTIONS } from "./runtime-options.js";
import type { WaitOptions } from "./types.js";

export interface SettledSource {
  /** Resolves when a queued or running execution finishes; undefined when it is neither. */
  settled(executionId: string): Promise<ExecutionResult> | undefined;
  getExecution(executionId: string): Promise<ExecutionResult | undefined>;
  /** A cluster: resolves once another process has finished the execution (its `done` message or record). */
  settledElsewhere?(executionId: string, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<ExecutionResult | undefined>;
}

export async function waitForSettled(source: SettledSource, executionId: string, options: WaitOptions): Promise<ExecutionResult | undefined> {
  if (typeof options === "number") {
    throw new InvalidOptionError(`waitForCompletion takes an options object, not a number: write { timeoutMs: ${options} } (milliseconds)`);
  }
  checkOptions("waitForCompletion options", options, WAIT_OPTIONS);
  const done = source.settled(executionId);
  if (!done) {
    const known = await source.getExecution(executionId);
    if (!known) return undefined;
    if (isTerminal(known.status)) return known;
    // Not finished and not here: in a cluster another process runs it.
    if (options.signal?.aborted) throw abortReason(options.signal);
    const elsewhere = source.settledElsewhere?.(executionId, { timeoutMs: options.timeoutMs, signal: options.signal });
    return elsewhere ? awaitSettled(elsewhere, options) : undefined;
  }
  return awaitSettled(done, options);
}

async function awaitSettled(done: Promise<ExecutionResult | undefined>, options: WaitOptions): Promise<ExecutionResult | undefined> {
  const { timeoutMs, signal } = options;
  if (signal?.aborted) throw abortReason(signal);
  // Waits are in real time: they serve callers (HTTP requests, scripts), not schedules.
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await new Promise<ExecutionResult | undefined>((resolve, reject) => {
      done.then(resolve, reject);
      if (timeoutMs !== undefined) timer = setTimeout(() => resolve(undefined), timeoutMs);
      if (signal) {
        onAbort = () => reject(abortReason(signal));
        signal.addEventListener("abort", onAbort, { once: true });
      }
    });
  } finally {
    if (timer) clearTimeout(timer);
    if (signal && onAbort) signal.removeEventListener("abort", onAbort);
  }
}
