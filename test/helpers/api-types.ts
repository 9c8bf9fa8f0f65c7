/**
 * What the control API and the webhook listener answer (SPEC sections 5
 * and 6), for tests that read response bodies: a typo in a field name fails
 * the type check instead of comparing `undefined`.
 */
import type { ExecutionResult } from "../../src/result.js";
import type { RuntimeStats } from "../../src/runtime/types.js";
import type { ForagerEvent } from "../../src/events/types.js";

export type { ExecutionResult, ForagerEvent, RuntimeStats };

/** Every 4xx/5xx body. */
export interface ErrorBody {
  error: { code: string; message: string; [detail: string]: unknown };
}

/** GET /health. */
export interface HealthBody {
  status: string;
  checks: Record<string, string>;
  failing?: string[];
}

/** GET /stats: the runtime's stats plus the webhook counters per source. */
export type StatsBody = RuntimeStats & {
  webhooks: Record<string, { accepted: number; rejected: number; duplicates: number }>;
};

/** POST .../trigger and POST /executions/{id}/rerun, without `wait`. */
export interface TriggerBody {
  status: string;
  execution_id: string;
  session_id: string;
  duplicate?: boolean;
  wait_timed_out?: boolean;
  rerun_of?: string;
  reason?: string;
  error?: { code: string; message: string };
}

/** A webhook's answer: 202 accepted, 200 duplicate or ignored. */
export interface WebhookBody {
  status: string;
  event_id?: string;
  /** Only on 202. */
  executions?: string[];
}

/** The `data` of a `webhook_received` event (SPEC 5). */
export interface WebhookEventData {
  path: string;
  method: string;
  delivery_id: string | null;
  payload: unknown;
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  [field: string]: unknown;
}

/** One JSON log line (LOG_FORMAT=json). */
export interface LogLine {
  level: string | number;
  msg: string;
  execution_id?: string;
  [field: string]: unknown;
}

/**
 * A line of `forager run --stream-json` or `forager events --json`: an
 * event, or (last, for run) the result with `type: "result"`.
 */
export type JsonLine = { type: string } & Partial<Omit<ForagerEvent, "type">> & Partial<ExecutionResult>;
