/**
 * The event that ends an execution (SPEC 4.2), built from its record: one
 * rule for its type and fields, whoever ends the execution (the executor,
 * a cancel while queued, a start that failed, a crash found at start-up).
 */
import type { ExecutionResult, ExecutionStatus } from "../result.js";
import type { EventInit, EventType } from "./types.js";

/** completed and cancelled have events of their own; every other end is a failure. */
export function terminalEventType(status: ExecutionStatus): EventType {
  if (status === "completed") return "execution_completed";
  if (status === "cancelled") return "execution_cancelled";
  return "execution_failed";
}

/** The terminal event of a record the executor did not finish itself; `data` adds to its status and error. */
export function terminalEvent(record: ExecutionResult, data: Record<string, unknown> = {}): EventInit {
  return {
    type: terminalEventType(record.status),
    graph_id: record.agent,
    stream_id: record.entry_point,
    execution_id: record.execution_id,
    session_id: record.session_id,
    data: { status: record.status, error: record.error, ...data },
  };
}
