import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExecutionRecord, ExecutionStatus } from "../../src/result.js";
import type { ForagerEvent, EventType } from "../../src/events/types.js";

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "forager-storage-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const BASE = Date.UTC(2026, 0, 1, 12, 0, 0);

/** A record queued `minute` minutes after a fixed start; finished ones take 2 s. */
export function makeRecord(minute: number, overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const t = BASE + minute * 60_000;
  const status: ExecutionStatus = overrides.status ?? "completed";
  const finished = status !== "running" && status !== "queued";
  const id = String(minute).padStart(4, "0");
  return {
    schema_version: 1,
    execution_id: `exec_${id}`,
    session_id: `session_20260101_${id}`,
    agent: "triage",
    entry_point: "api",
    status,
    success: status === "completed",
    output: finished ? { answer: minute } : {},
    error: null,
    path: ["classify"],
    steps_executed: 1,
    usage: { llm_calls: 1, tool_calls: 0, input_tokens: 10, output_tokens: 5, cost_usd: 0 },
    started_at: status === "queued" ? null : new Date(t).toISOString(),
    finished_at: finished ? new Date(t + 2000).toISOString() : null,
    duration_ms: finished ? 2000 : null,
    input: { query: `q${minute}` },
    queued_at: new Date(t).toISOString(),
    ...overrides,
  };
}

export function minuteMs(minute: number): number {
  return BASE + minute * 60_000;
}

export function makeEvent(record: ExecutionRecord, type: EventType, n: number): ForagerEvent {
  return {
    id: `evt_${record.execution_id}_${String(n).padStart(4, "0")}`,
    type,
    timestamp: new Date(BASE + n).toISOString(),
    graph_id: record.agent,
    stream_id: record.entry_point,
    execution_id: record.execution_id,
    session_id: record.session_id,
    node_id: null,
    correlation_id: null,
    data: { n },
  };
}
