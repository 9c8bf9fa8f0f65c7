/** The event model of SPEC section 4.2: one shape for every event on the bus. */

/** Every event type, as it appears in JSON (lower snake case); an agent file accepts either case. */
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

/** One of EVENT_TYPES. */
export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

/** One event on the bus (SPEC 4.2): what subscribers receive, the event log keeps and `GET /events` streams. */
export interface ForagerEvent<D extends Record<string, unknown> = Record<string, unknown>> {
  /** Unique; set by the bus. */
  id: string;
  /** What happened. */
  type: EventType;
  /** ISO 8601 UTC. */
  timestamp: string;
  /** The agent's name (Hive's graph id). */
  graph_id: string | null;
  /** Entry point id for execution events; a webhook route's source_id for webhook_received. */
  stream_id: string | null;
  /** The execution the event is about; null for an event of no execution. */
  execution_id: string | null;
  /** That execution's session. */
  session_id: string | null;
  /** The node the event is about, for node, edge, LLM and tool events. */
  node_id: string | null;
  /**
   * Ties events of one cause together: an execution's events carry the
   * triggering event's correlation id (or id), else the execution id.
   */
  correlation_id: string | null;
  /** The type's details (a node's output, a tool's arguments, an error, ...). */
  data: D;
}

/** What a publisher supplies; the bus fills id and timestamp. */
export type EventInit = Partial<Omit<ForagerEvent, "type" | "data">> & {
  /** What happened. */
  type: EventType;
  /** The type's details; default `{}`. */
  data?: Record<string, unknown>;
};

/** A subscriber: called with each matching event, in publish order; a throw or rejection is logged and counted, never passed on. */
export type EventHandler = (event: ForagerEvent) => void | Promise<void>;

/** Which events a subscriber gets; each field left out matches every event. */
export interface EventFilter {
  /** Only these types (an empty list matches all). */
  types?: readonly EventType[];
  /** Only this agent's events. */
  graph_id?: string;
  /** Only this entry point's (or webhook route's) events. */
  stream_id?: string;
  /** Only this execution's events. */
  execution_id?: string;
}

/**
 * The bus every part of the runtime publishes to. Publishing never waits for
 * subscribers; a subscriber that throws is logged and does not affect others.
 */
export interface EventPublisher {
  /** Stamps `init` (id, time) into an event, hands it to the subscribers and returns it. */
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

/** Options of `subscribe`: which processes' events the handler sees. */
export interface SubscribeOptions {
  /** Default `local`. */
  scope?: SubscriptionScope;
}

export interface EventSubscriber {
  /** Returns a function that removes the subscription. */
  subscribe(handler: EventHandler, filter?: EventFilter, options?: SubscribeOptions): () => void;
}
