/** The event model of SPEC section 4.2: one shape for every event on the bus. */

export const EVENT_TYPES = [
  "execution_queued",
  "execution_started",
  "execution_completed",
  "execution_failed",
  "execution_cancelled",
  "node_started",
  "node_completed",
  "node_failed",
  "node_retry",
  "node_stalled",
  "edge_traversed",
  "llm_turn_complete",
  "tool_call_started",
  "tool_call_completed",
  "output_key_set",
  "state_changed",
  "timer_fired",
  "timer_skipped",
  "webhook_received",
  "custom",
  "budget_exceeded",
  "stream_started",
  "stream_stopped",
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

export interface ForagerEvent<D extends Record<string, unknown> = Record<string, unknown>> {
  id: string;
  type: EventType;
  /** ISO 8601 UTC. */
  timestamp: string;
  /** The agent's name (Hive's graph id). */
  graph_id: string | null;
  /** Entry point id for execution events; a webhook route's source_id for webhook_received. */
  stream_id: string | null;
  execution_id: string | null;
  session_id: string | null;
  node_id: string | null;
  correlation_id: string | null;
  data: D;
}

/** What a publisher supplies; the bus fills id and timestamp. */
export type EventInit = Partial<Omit<ForagerEvent, "type" | "data">> & {
  type: EventType;
  data?: Record<string, unknown>;
};

export type EventHandler = (event: ForagerEvent) => void | Promise<void>;

export interface EventFilter {
  types?: readonly EventType[];
  graph_id?: string;
  stream_id?: string;
  execution_id?: string;
}

/**
 * The bus every part of the runtime publishes to. Publishing never waits for
 * subscribers; a subscriber that throws is logged and does not affect others.
 */
export interface EventPublisher {
  publish(init: EventInit): ForagerEvent;
}

/**
 * Which events a subscriber sees when the runtime spans several processes.
 * `local`: the events this process publishes (its executions, its timers,
 * webhooks it received); what acts on events uses it (event intake, so an
 * event triggers once in the cluster; per-process metrics). `cluster`: every
 * process's events, for observers such as `GET /events`. In one process the
 * two are the same events.
 */
export type SubscriptionScope = "local" | "cluster";

export interface SubscribeOptions {
  /** Default `local`. */
  scope?: SubscriptionScope;
}

export interface EventSubscriber {
  /** Returns a function that removes the subscription. */
  subscribe(handler: EventHandler, filter?: EventFilter, options?: SubscribeOptions): () => void;
}
