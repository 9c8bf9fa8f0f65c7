/**
 * Every default of the agent file that code outside the schema needs, as
 * plain values kept in one place: the zod schema (schema.ts) declares its
 * `.default()`s from these, and the runtime, the loader's resolve step and
 * the executor read them here, so `new AgentRuntime()` or an entry point
 * registered in code never builds a zod schema just to learn a default.
 */
// No imports, not even of types: schema.ts imports this module.

/** Defaults of `runtime:` (SPEC 3). */
export const RUNTIME_DEFAULTS = {
  max_concurrent_executions: 100,
  cache_ttl: 60,
  execution_result_max: 1000,
  webhook_host: "127.0.0.1",
  webhook_port: 8080,
  control_host: "127.0.0.1",
  control_port: 0,
  shutdown_grace_seconds: 30,
  max_connections: 1000,
  session_retention: { max_age: 7 * 86_400, max_sessions: 10_000 },
  backend: "file",
  redis_prefix: "forager",
  worker_loss: { lock_seconds: 10, check_seconds: 5, retries: 1 },
} as const;

/** A fresh runtime config holding only defaults (fresh: callers may change its lists). */
export function runtimeDefaults() {
  return {
    ...RUNTIME_DEFAULTS,
    webhook_routes: [] as never[],
    session_retention: { ...RUNTIME_DEFAULTS.session_retention },
    worker_loss: { ...RUNTIME_DEFAULTS.worker_loss },
  };
}

/** Defaults of every entry point, whatever its trigger. */
export const ENTRY_POINT_DEFAULTS = {
  isolation_level: "shared",
  max_concurrent: 10,
  max_queued: 1000,
} as const;

/** Defaults of a timer's `trigger_config`. */
export const TIMER_DEFAULTS = {
  run_immediately: false,
  idle_timeout_seconds: 300,
  catch_up: "none",
} as const;

/** The entry point an agent gets when its file declares none. */
export const DEFAULT_ENTRY_POINT_ID = "default";

/** SPEC 4.1: one at a time means "the newest wins", as in Hive's single execution mode. */
export function defaultOverlap(maxConcurrent: number): "cancel_previous" | "queue" {
  return maxConcurrent === 1 ? "cancel_previous" : "queue";
}

/** The node an entry point starts at when it names none: the graph's entry_node, else its first node. */
export function defaultEntryNode(graph: { entry_node?: string; nodes: readonly { id: string }[] }): string {
  return graph.entry_node ?? graph.nodes[0]!.id;
}
