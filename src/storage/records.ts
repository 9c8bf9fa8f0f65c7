/**
 * Pure helpers shared by the file and the memory session stores: summaries,
 * ordering, crash recovery and which sessions a prune removes.
 */
import { completeEvent } from "../events/bus.js";
import { terminalEvent } from "../events/terminal.js";
import type { ForagerEvent } from "../events/types.js";
import { isTerminal, type ExecutionRecord } from "../result.js";
import type { ExecutionSummary, PruneOptions } from "./types.js";

export function summarize(record: ExecutionRecord): ExecutionSummary {
  return {
    execution_id: record.execution_id,
    session_id: record.session_id,
    agent: record.agent,
    entry_point: record.entry_point,
    status: record.status,
    started_at: record.started_at,
    finished_at: record.finished_at,
    queued_at: record.queued_at,
  };
}

/** Newest first: by queued_at, then started_at, then execution id (ULIDs sort by time). */
export function compareNewestFirst(a: ExecutionSummary, b: ExecutionSummary): number {
  if (a.queued_at !== b.queued_at) return a.queued_at < b.queued_at ? 1 : -1;
  const as = a.started_at ?? "";
  const bs = b.started_at ?? "";
  if (as !== bs) return as < bs ? 1 : -1;
  if (a.execution_id === b.execution_id) return 0;
  return a.execution_id < b.execution_id ? 1 : -1;
}

/** A session's events, or only those of one execution. */
export function filterExecutionEvents(events: ForagerEvent[], executionId?: string): ForagerEvent[] {
  return executionId === undefined ? events : events.filter((e) => e.execution_id === executionId);
}

/** True when `status` means the execution never finished (a crash leaves these behind). */
export function isUnfinished(status: ExecutionSummary["status"]): boolean {
  return status === "running" || status === "queued";
}

/**
 * The record of an execution the process never finished, marked
 * `interrupted`, with its input kept so it can be re-run; and the event that
 * says so.
 */
export function interruptRecord(record: ExecutionRecord, now: number): { record: ExecutionRecord; event: ForagerEvent } {
  const finishedAt = new Date(now).toISOString();
  const wasRunning = record.status === "running";
  const error = {
    code: "interrupted",
    message: wasRunning
      ? "the process ended while the execution was running"
      : "the process ended before the execution started",
    node_id: null,
  };
  const startedMs = record.started_at ? Date.parse(record.started_at) : NaN;
  const interrupted: ExecutionRecord = {
    ...record,
    status: "interrupted",
    success: false,
    error,
    finished_at: finishedAt,
    duration_ms: Number.isFinite(startedMs) ? Math.max(0, now - startedMs) : null,
  };
  const event = completeEvent(terminalEvent(interrupted, { previous_status: record.status }), now);
  return { record: interrupted, event };
}

export interface SessionGroup {
  agent: string;
  session_id: string;
  execution_ids: string[];
  /** Every execution of the session has finished. */
  finished: boolean;
  /** The newest queued_at of its executions (for ordering). */
  newest: string;
  /** When its last execution finished, in ms since the epoch (NaN when unknown). */
  finishedMs: number;
}

export function groupSessions(summaries: Iterable<ExecutionSummary>): SessionGroup[] {
  const groups = new Map<string, SessionGroup>();
  for (const s of summaries) {
    const key = `${s.agent}/${s.session_id}`;
    let group = groups.get(key);
    if (!group) {
      group = { agent: s.agent, session_id: s.session_id, execution_ids: [], finished: true, newest: s.queued_at, finishedMs: NaN };
      groups.set(key, group);
    }
    group.execution_ids.push(s.execution_id);
    if (!isTerminal(s.status)) group.finished = false;
    if (s.queued_at > group.newest) group.newest = s.queued_at;
    const ended = Date.parse(s.finished_at ?? s.started_at ?? s.queued_at);
    if (Number.isFinite(ended) && !(ended <= group.finishedMs)) group.finishedMs = ended;
  }
  return [...groups.values()];
}

/**
 * Which sessions a prune removes: finished sessions older than
 * `olderThanSeconds`, and finished sessions beyond the newest `keep` of their
 * agent. A session with an execution still queued or running is never removed.
 */
export function planPrune(
  summaries: Iterable<ExecutionSummary>,
  options: PruneOptions,
  now: number,
): { remove: SessionGroup[]; kept: number } {
  const byAgent = new Map<string, SessionGroup[]>();
  for (const group of groupSessions(summaries)) {
    if (options.agent !== undefined && group.agent !== options.agent) continue;
    const list = byAgent.get(group.agent) ?? [];
    list.push(group);
    byAgent.set(group.agent, list);
  }
  const cutoff = options.olderThanSeconds === undefined ? undefined : now - options.olderThanSeconds * 1000;
  const remove: SessionGroup[] = [];
  let kept = 0;
  for (const groups of byAgent.values()) {
    groups.sort((a, b) => (a.newest < b.newest ? 1 : a.newest > b.newest ? -1 : 0));
    groups.forEach((group, rank) => {
      const tooOld = cutoff !== undefined && Number.isFinite(group.finishedMs) && group.finishedMs < cutoff;
      const beyondKeep = options.keep !== undefined && rank >= options.keep;
      if (group.finished && (tooOld || beyondKeep)) remove.push(group);
      else kept++;
    });
  }
  return { remove, kept };
}

/** How a removed session is named in a prune report. */
export function sessionLabel(group: Pick<SessionGroup, "agent" | "session_id">): string {
  return `${group.agent}/${group.session_id}`;
}
