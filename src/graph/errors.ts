/**
 * How failures travel inside the executor. A NodeFailure is one node's
 * problem (retries and on_failure edges apply); an ExecutionHalt stops the
 * whole execution (cancel, timeout, budget) and no node may swallow it.
 */
import type { ExecutionStatus } from "../result.js";

/** Why an execution stopped before its graph ended. */
export interface HaltInfo {
  status: Extract<ExecutionStatus, "cancelled" | "timed_out" | "budget_exceeded" | "failed">;
  code: string;
  message: string;
  reason?: string;
  node_id?: string | null;
}

export class ExecutionHalt extends Error {
  readonly info: HaltInfo;
  constructor(info: HaltInfo) {
    super(info.message);
    this.name = "ExecutionHalt";
    this.info = info;
  }
}

/** A node failed; `code` becomes the execution's error code if nothing handles it. */
export class NodeFailure extends Error {
  readonly code: string;
  constructor(message: string, code = "node_failed", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NodeFailure";
    this.code = code;
  }
}

/** A node's own timeout fired (retryable, unlike an execution timeout). */
export class NodeTimeout extends Error {
  constructor(seconds: number) {
    super(`timed out after ${formatSeconds(seconds)}`);
    this.name = "NodeTimeout";
  }
}

export function formatSeconds(seconds: number): string {
  return `${Number.isInteger(seconds) ? seconds : +seconds.toFixed(3)}s`;
}
