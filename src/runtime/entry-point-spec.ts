/**
 * `registerEntryPoint` accepts the seed's camelCase spec
 * (`{ id, entryNode, triggerType, maxConcurrent }`) and the file's
 * snake_case form; both end as the same ResolvedEntryPoint, with the
 * defaults the agent loader applies.
 */
import { resolveEntryPointDef } from "../config/resolve.js";
import { PARSE_ONCE, schemas, type Agent, type ResolvedEntryPoint } from "../config/schema.js";
import { ForagerError } from "../errors.js";
import { isPlainObject } from "../util/json.js";
import { checkTimerConfig } from "./schedule.js";

/**
 * An entry point to register in code (`registerEntryPoint`), in the seed's
 * camelCase naming. No open keys: a misspelt option fails to compile. The
 * agent file's snake_case form is EntryPointFileSpec.
 */
export interface EntryPointSpec {
  /** Unique within the agent; what `trigger` names. */
  id: string;
  /** A display name; none by default. */
  name?: string;
  /** The node the execution starts at; default the graph's `entry_node`, else its first node. */
  entryNode?: string;
  /** What starts it: `manual` (default), `api`, `timer` or `event`. */
  triggerType?: "manual" | "api" | "timer" | "event";
  /** Timer or event settings, camelCase or snake_case (`intervalMinutes` / `interval_minutes`). */
  triggerConfig?: Record<string, unknown>;
  /** How executions share the agent's `state`: `isolated` (none), `shared` (default; last write wins) or `synchronized` (shared, one at a time). */
  isolationLevel?: "isolated" | "shared" | "synchronized";
  /** How many executions of this entry point may run at once; default 10. */
  maxConcurrent?: number;
  /** What a trigger does when all slots are busy: `queue`, `skip`, `cancel_previous` or `reject`; default `cancel_previous` with `maxConcurrent: 1`, else `queue`. */
  overlap?: "queue" | "skip" | "cancel_previous" | "reject";
  /** How many executions may wait with `overlap: queue` before triggers are rejected; default 1000. */
  maxQueued?: number;
  /** A JSON Schema the trigger input must pass; input that fails it is refused. */
  inputSchema?: Record<string, unknown>;
  /** Limits as in `graph.limits` (`timeout_seconds`, `max_llm_calls`, ...); the stricter of the two wins. */
  limits?: Record<string, unknown>;
}

/** The same entry point in the agent file's snake_case naming (`entry_points:` items). */
export interface EntryPointFileSpec {
  /** Unique within the agent; what `trigger` names. */
  id: string;
  /** A display name; none by default. */
  name?: string;
  /** The node the execution starts at; default the graph's `entry_node`, else its first node. */
  entry_node?: string;
  /** What starts it: `manual` (default), `api`, `timer` or `event`. */
  trigger_type?: "manual" | "api" | "timer" | "event";
  /** Timer or event settings (`interval_minutes`, `cron`, `event_types`, ...). */
  trigger_config?: Record<string, unknown>;
  /** How executions share the agent's `state`: `isolated` (none), `shared` (default; last write wins) or `synchronized` (shared, one at a time). */
  isolation_level?: "isolated" | "shared" | "synchronized";
  /** How many executions of this entry point may run at once; default 10. */
  max_concurrent?: number;
  /** What a trigger does when all slots are busy: `queue`, `skip`, `cancel_previous` or `reject`; default `cancel_previous` with `max_concurrent: 1`, else `queue`. */
  overlap?: "queue" | "skip" | "cancel_previous" | "reject";
  /** How many executions may wait with `overlap: queue` before triggers are rejected; default 1000. */
  max_queued?: number;
  /** A JSON Schema the trigger input must pass; input that fails it is refused. */
  input_schema?: Record<string, unknown>;
  /** Limits as in `graph.limits` (`timeout_seconds`, `max_llm_calls`, ...); the stricter of the two wins. */
  limits?: Record<string, unknown>;
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function snakeKeys(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[snake(key)] = v;
  return out;
}

/** Turns either spec form into a resolved entry point of `agent`; throws ForagerError on any problem. */
export function resolveEntryPoint(agent: Agent, spec: EntryPointSpec | EntryPointFileSpec): ResolvedEntryPoint {
  const raw = snakeKeys(spec as unknown as Record<string, unknown>);
  // Only the names of trigger_config and limits change case; schemas inside stay as written.
  if (isPlainObject(raw.trigger_config)) raw.trigger_config = snakeKeys(raw.trigger_config);
  if (isPlainObject(raw.limits)) raw.limits = snakeKeys(raw.limits);
  raw.trigger_type ??= "manual";
  const where = `entry point "${String(raw.id ?? "?")}" of agent ${agent.name}`;
  const parsed = schemas().EntryPointSchema.safeParse(raw, PARSE_ONCE);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(spec)"}: ${i.message}`);
    throw new ForagerError("invalid_entry_point", `${where} is not valid: ${problems.join("; ")}`);
  }
  const ep = resolveEntryPointDef(parsed.data, agent.graph);
  const entryNode = ep.entry_node;
  if (!agent.graph.nodes.some((node) => node.id === entryNode)) {
    const known = agent.graph.nodes.map((node) => node.id).join(", ");
    throw new ForagerError("invalid_entry_point", `${where}: entry_node "${entryNode}" is not a node of the graph (nodes: ${known})`);
  }
  if (ep.trigger_type === "timer") {
    try {
      checkTimerConfig(ep.trigger_config);
    } catch (err) {
      throw new ForagerError("invalid_entry_point", `${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return ep;
}
