/**
 * `forager run --entry <event entry point>`: the entry point's filters
 * (event_types, exclude_own_graph, filter_stream, filter_node,
 * filter_graph, when) are applied to `input.event` as the daemon would, so
 * filters can be tested offline. A mismatch is a `skipped` run (exit 0).
 */
import type { Agent, ResolvedEntryPoint } from "../config/schema.js";
import { UsageError } from "../errors.js";
import type { ForagerEvent } from "../events/types.js";
import { emptyUsage } from "../result.js";
import { eventFilterMismatch, type EventEntryPoint } from "../runtime/event-triggers.js";

export type FilterVerdict = { kind: "run" } | { kind: "unchecked" } | { kind: "skipped"; reason: string };

/** What `run --json` prints for a skipped run: the result JSON's shape, nothing executed, nothing stored. */
export interface SkippedResult {
  schema_version: 1;
  execution_id: null;
  session_id: null;
  agent: string;
  entry_point: string;
  status: "skipped";
  success: false;
  reason: string;
  output: Record<string, never>;
  error: null;
  path: [];
  steps_executed: 0;
  usage: ReturnType<typeof emptyUsage>;
  started_at: null;
  finished_at: null;
  duration_ms: null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const text = (value: unknown): string | null => (typeof value === "string" ? value : null);

/** `input.event` completed to a full event (missing fields null), as the daemon would deliver it. */
export function eventFromInput(raw: Record<string, unknown>): ForagerEvent {
  const type = typeof raw.type === "string" ? raw.type.toLowerCase() : undefined;
  if (type === undefined) throw new UsageError('--input: "event" has no "type"; give one, e.g. {"event": {"type": "webhook_received", ...}}');
  return {
    ...raw,
    id: text(raw.id) ?? "",
    type: type as ForagerEvent["type"],
    timestamp: text(raw.timestamp) ?? new Date().toISOString(),
    graph_id: text(raw.graph_id),
    stream_id: text(raw.stream_id),
    execution_id: text(raw.execution_id),
    session_id: text(raw.session_id),
    node_id: text(raw.node_id),
    correlation_id: text(raw.correlation_id),
    data: isObject(raw.data) ? raw.data : {},
  };
}

/**
 * The verdict for running `ep` with `input`: `run` for non-event entry
 * points and matching events, `unchecked` for an event entry point given no
 * `event` object (the graph runs as asked), `skipped` with the reason.
 */
export function checkEventFilters(agent: Agent, ep: ResolvedEntryPoint, input: Record<string, unknown>): FilterVerdict {
  if (ep.trigger_type !== "event") return { kind: "run" };
  if (input.event === undefined) return { kind: "unchecked" };
  if (!isObject(input.event)) throw new UsageError('--input: "event" must be a JSON object');
  const mismatch = eventFilterMismatch(agent.name, ep as EventEntryPoint, eventFromInput(input.event));
  return mismatch ? { kind: "skipped", reason: mismatch.reason } : { kind: "run" };
}

export function skippedResult(agent: Agent, ep: ResolvedEntryPoint, reason: string): SkippedResult {
  return {
    schema_version: 1,
    execution_id: null,
    session_id: null,
    agent: agent.name,
    entry_point: ep.id,
    status: "skipped",
    success: false,
    reason,
    output: {},
    error: null,
    path: [],
    steps_executed: 0,
    usage: emptyUsage(),
    started_at: null,
    finished_at: null,
    duration_ms: null,
  };
}
