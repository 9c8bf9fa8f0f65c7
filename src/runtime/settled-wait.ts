/**
 * waitForCompletion: an execution's result once it has finished, undefined
 * after `timeoutMs` or for an unknown id, the signal's reason once aborted.
 */
import { checkOptions, InvalidOptionError } from "../errors.js";
import { isTerminal, type ExecutionResult } from "../result.js";
import { abortReason } from "../util/abort.js";
import { WAIT_OPTIONS } from "./runtime-options.js";
import type { WaitOptions } from "./types.js";
import type { ExecutionQueue } from "./execution-queue.js";

/** Where a wait looks: the queue's live jobs (and, in a cluster, other nodes' completions), then the execution as stored. */
export interface SettledSource {
  queue: Pick<ExecutionQueue, "settled" | "settledElsewhere">;
  getExecution(executionId: string): Promise<ExecutionResult | undefined>;
}

export async function waitForSettled(source: SettledSource, executionId: string, options: WaitOptions): Promise<ExecutionResult | undefined> {
  if (typeof options === "number") {
    throw new InvalidOptionError(`waitForCompletion takes an options object, not a number: write { timeoutMs: ${options} } (milliseconds)`);
  }
  checkOptions("waitForCompletion options", options, WAIT_OPTIONS);
  const done = source.queue.settled(executionId);
  if (!done) {
    const known = await source.getExecution(executionId);
    if (!known) return undefined;
    if (isTerminal(known.status)) return known;
    // Not finished and not here: in a cluster another process runs it.
    if (options.signal?.aborted) throw abortReason(options.signal);
    const elsewhere = source.queue.settledElsewhere?.(executionId, { timeoutMs: options.timeoutMs, signal: options.signal });
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
