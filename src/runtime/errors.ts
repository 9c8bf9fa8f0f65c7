import { ForagerError } from "../errors.js";
import type { TriggerOutcome } from "./types.js";

/**
 * `trigger()` did not start or queue an execution: the entry point was busy
 * (overlap skip / reject) or its queue was full. `outcome` says which.
 */
export class TriggerRefusedError extends ForagerError {
  /** The trigger's outcome: `skipped` or `rejected`, with the reason (and, rejected, when to retry). */
  readonly outcome: Extract<TriggerOutcome, { status: "skipped" | "rejected" }>;
  constructor(entryPoint: string, outcome: TriggerRefusedError["outcome"]) {
    const what = outcome.status === "skipped" ? "skipped" : "rejected";
    const retry = outcome.status === "rejected" ? `; retry in ${outcome.retry_after_seconds}s` : "";
    super(`trigger_${what}`, `trigger of entry point "${entryPoint}" ${what}: ${outcome.reason}${retry}`);
    this.name = "TriggerRefusedError";
    this.outcome = outcome;
  }
}
