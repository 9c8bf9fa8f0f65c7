/**
 * The options AgentRuntime takes: its constructor's and trigger()'s, with
 * the key lists checkOptions uses to refuse an unknown key, and the backend
 * the constructor's options resolve to.
 */
import type { Agent, RuntimeConfig } from "../config/schema.js";
import type { EventBus } from "../events/bus.js";
import type { ExecuteGraph } from "../graph/types.js";
import type { LlmProvider } from "../llm/types.js";
import type { Logger } from "../logging/index.js";
import { ForagerError } from "../errors.js";
import type { KeyStore, SessionStore, StateStore } from "../storage/types.js";
import type { ToolResolver } from "../tools/types.js";
import type { Clock } from "../util/clock.js";
import { createBackend, type RuntimeBackend } from "./backend.js";
import type { SlotLimiter } from "./limiter.js";

/** Options of `new AgentRuntime()`; an unknown key is an `invalid_option` ForagerError. */
export interface AgentRuntimeOptions {
  /** The agent to serve (from loadAgent or agentFromObject). */
  agent?: Agent;
  /** Several agents, served together; names must be unique. */
  agents?: Agent[];
  /** Where sessions, state, keys and the ingest log live; none = in-memory stores (ignored with `backend`). */
  storagePath?: string;
  /** A provider, or a factory per agent; default: built from the agent's `llm` when it has llm nodes. */
  llm?: LlmProvider | ((agent: Agent) => LlmProvider | Promise<LlmProvider>);
  /** A resolver, or a factory per agent; default: the agent's tools and MCP servers. */
  tools?: ToolResolver | ((agent: Agent) => ToolResolver);
  /** Overrides the agents' `runtime` settings. */
  config?: Partial<RuntimeConfig>;
  /** Time source of timers and records; default the system clock (FakeClock in tests). */
  clock?: Clock;
  /** Default: a silent logger. */
  logger?: Logger;
  /** The graph executor; default: executeGraph. */
  execute?: ExecuteGraph;
  /** @internal The event bus; default: a new one. */
  bus?: EventBus;
  /** @internal Where records live; default from `storagePath`. */
  store?: SessionStore;
  /** @internal */
  state?: StateStore;
  /** @internal */
  keys?: KeyStore;
  /** @internal The global slot limiter; default in-process with `max_concurrent_executions` slots. */
  limiter?: SlotLimiter;
  /**
   * @internal
   * Everything above from storagePath to limiter in one object (backend.ts);
   * default createBackend(config, {storagePath, store, state, keys, limiter}).
   * Pass either this or those, not both. The caller closes a backend it passes.
   */
  backend?: RuntimeBackend;
}

export const RUNTIME_OPTIONS = ["agent", "agents", "storagePath", "llm", "tools", "config", "clock", "logger", "execute", "bus", "store", "state", "keys", "limiter", "backend"];

/** Options of `trigger()`. */
export interface TriggerOptions {
  /** The agent whose entry point to trigger; optional with one agent. */
  agent?: string;
  /** A second trigger with the same key returns the first one's execution id instead of starting another. */
  idempotencyKey?: string;
}

export const TRIGGER_OPTIONS = ["agent", "idempotencyKey"];
export const WAIT_OPTIONS = ["timeoutMs", "signal"];

/** The backend passed in, or one built from storagePath/store/state/keys/limiter; both at once is an error. */
export function resolveBackend(options: AgentRuntimeOptions, config: RuntimeConfig, clock: Clock, logger: Logger): RuntimeBackend {
  const backend = options.backend ?? createBackend(config, {
    storagePath: options.storagePath,
    clock,
    logger,
    store: options.store,
    state: options.state,
    keys: options.keys,
    limiter: options.limiter,
  });
  if (options.backend && (options.store || options.state || options.keys || options.limiter || options.storagePath !== undefined)) {
    throw new ForagerError("invalid_options", "pass either a backend or storagePath/store/state/keys/limiter, not both: the backend holds all of them");
  }
  return backend;
}
