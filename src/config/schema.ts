/**
 * The agent file, as one zod schema: the source of the TypeScript types,
 * the defaults it applies (their values kept in defaults.ts), the JSON
 * Schema (`forager schema`) and the structural checks. Built on first use
 * (`schemas()`), so importing this module costs nothing. Cross-references (edges name nodes, tools exist, cron parses)
 * are checked afterwards in semantic.ts, with positions. The value schemas
 * every section shares are in schema-primitives.ts, the `runtime` section
 * in runtime-schema.ts.
 *
 * Keys are snake_case and match Hive's names where Hive has one.
 */
import type { z as Zod } from "zod";
import { onFirstUse } from "../util/lazy.js";
import { ENTRY_POINT_DEFAULTS, TIMER_DEFAULTS, runtimeDefaults } from "./defaults.js";
import { runtimeSchemas } from "./runtime-schema.js";
import { primitiveSchemas } from "./schema-primitives.js";
import { EVENT_TYPES } from "../events/types.js";

// zod loads, and the schema is built, on the first validation: `import "forager"`
// and a runtime built from loaded agents never pay for either (issue 15).
const zod = onFirstUse<typeof import("zod")>("zod", () => (typeof require === "function" ? require("zod") : undefined));

function build(z: typeof Zod) {
  const strict = z.strictObject;

  const primitives = primitiveSchemas(z);
  const { Duration, Id, JsonSchemaObject, PositiveInt, NonNegativeInt } = primitives;

  // ---------------------------------------------------------------- limits

  const LimitsSchema = strict({
    timeout_seconds: z.number().positive().optional(),
    max_llm_calls: NonNegativeInt.optional(),
    max_tool_calls: NonNegativeInt.optional(),
    max_tokens: NonNegativeInt.optional(),
    max_cost_usd: z.number().nonnegative().optional(),
  });

  // ---------------------------------------------------------------- llm

  const MockToolCall = strict({
    name: z.string().min(1),
    arguments: z.record(z.string(), z.unknown()).default({}),
  });

  const MockResponseSchema = strict({
    text: z.string().optional(),
    tool_calls: z.array(MockToolCall).optional(),
    /** Token counts to report for this turn (defaults estimate from the text). */
    usage: strict({ input_tokens: NonNegativeInt, output_tokens: NonNegativeInt }).optional(),
    /** Wait this long before answering (for timeout and cancellation demos). */
    delay: Duration.optional(),
    /** Answer with this provider error instead of a reply. */
    error: z.string().optional(),
  });

  const LlmSchema = strict({
    provider: z.enum(["openai", "anthropic", "mock"]),
    model: z.string().min(1).optional(),
    base_url: z.string().optional(),
    api_key: z.string().optional(),
    temperature: z.number().min(0).max(2).optional(),
    max_tokens: PositiveInt.optional(),
    timeout_seconds: z.number().positive().default(60),
    max_retries: NonNegativeInt.default(3),
    pricing: strict({
      input_per_million: z.number().nonnegative(),
      output_per_million: z.number().nonnegative(),
    }).optional(),
    /** mock only: scripted replies per node id, consumed in order; "*" for any node. */
    responses: z.record(z.string(), z.array(MockResponseSchema)).optional(),
  });

  // ---------------------------------------------------------------- tools

  const ToolCommon = {
    description: z.string().default(""),
    input_schema: JsonSchemaObject.optional(),
    timeout_seconds: z.number().positive().default(30),
    /** Output beyond this many bytes is cut, and the result says so. */
    max_output_bytes: PositiveInt.default(65536),
  };

  const HttpToolSchema = strict({
    type: z.literal("http"),
    ...ToolCommon,
    method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]).default("GET"),
    url: z.string().min(1),
    headers: z.record(z.string(), z.string()).default({}),
    query: z.record(z.string(), z.unknown()).optional(),
    /** Request body template: an object is sent as JSON, a string as text. */
    body: z.unknown().optional(),
  });

  const ShellToolSchema = strict({
    type: z.literal("shell"),
    ...ToolCommon,
    command: z.array(z.string()).min(1, "expected an argv array with at least the program"),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).default({}),
    /** After a timeout or cancel: SIGTERM, then SIGKILL after this grace. */
    kill_grace_seconds: z.number().nonnegative().default(2),
  });

  const EmitToolSchema = strict({
    type: z.literal("emit"),
    ...ToolCommon,
  });

  const ToolSchema = z.discriminatedUnion("type", [HttpToolSchema, ShellToolSchema, EmitToolSchema]);

  const McpServerSchema = strict({
    /** stdio transport: the program to start. */
    command: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().optional(),
    /** streamable HTTP transport. */
    url: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).default({}),
    /** Time allowed for one tool call; starting and listing tools gets at least 30 s (src/tools/mcp.ts). */
    timeout_seconds: z.number().positive().default(60),
  });

  // ---------------------------------------------------------------- graph

  const NodeCommon = {
    id: Id,
    description: z.string().default(""),
    input_keys: z.array(z.string()).optional(),
    output_keys: z.array(z.string()).default([]),
    nullable_output_keys: z.array(z.string()).default([]),
    max_retries: NonNegativeInt.default(0),
    retry_backoff: Duration.default(1),
    timeout_seconds: z.number().positive().optional(),
    max_visits: NonNegativeInt.default(0),
  };

  const LlmNodeSchema = strict({
    ...NodeCommon,
    type: z.literal("llm"),
    system_prompt: z.string().optional(),
    prompt: z.string().optional(),
    tools: z.array(z.string()).default([]),
    model: z.string().optional(),
    max_iterations: PositiveInt.default(20),
    text_output: z.boolean().default(false),
  });

  const ToolNodeSchema = strict({
    ...NodeCommon,
    type: z.literal("tool"),
    tool: z.string().min(1),
    args: z.record(z.string(), z.unknown()).default({}),
  });

  const FunctionNodeSchema = strict({
    ...NodeCommon,
    type: z.literal("function"),
    module: z.string().min(1),
    export: z.string().default("default"),
    /** After a timeout or cancel: how long the function has to return before its worker thread is terminated. */
    kill_grace_seconds: z.number().nonnegative().default(2),
  });

  const NodeSchema = z.discriminatedUnion("type", [LlmNodeSchema, ToolNodeSchema, FunctionNodeSchema]);

  const EdgeSchema = strict({
    from: z.string().min(1),
    to: z.string().min(1),
    condition: z.enum(["on_success", "on_failure", "always"]).default("on_success"),
    when: z.string().optional(),
    priority: z.number().default(0),
  });

  const GraphSchema = strict({
    entry_node: z.string().optional(),
    max_steps: PositiveInt.default(50),
    output_keys: z.array(z.string()).optional(),
    nullable_output_keys: z.array(z.string()).default([]),
    limits: LimitsSchema.optional(),
    nodes: z.array(NodeSchema).min(1, "expected at least one node"),
    edges: z.array(EdgeSchema).default([]),
  });

  // ---------------------------------------------------------------- entry points

  /** Event type names: lower snake case, or the same in upper case (Hive's enum names). */
  const EventTypeName = z
    .string()
    .transform((value) => value.toLowerCase())
    .pipe(z.enum(EVENT_TYPES));

  const TimerConfigSchema = strict({
    interval_minutes: z.number().positive().optional(),
    interval_seconds: z.number().positive().optional(),
    cron: z.string().optional(),
    timezone: z.string().optional(),
    run_immediately: z.boolean().default(TIMER_DEFAULTS.run_immediately),
    idle_timeout_seconds: z.number().nonnegative().default(TIMER_DEFAULTS.idle_timeout_seconds),
    catch_up: z.enum(["none", "last"]).default(TIMER_DEFAULTS.catch_up),
  });

  const EventConfigSchema = strict({
    event_types: z.array(EventTypeName).min(1, "expected at least one event type"),
    exclude_own_graph: z.boolean().default(false),
    filter_stream: z.string().optional(),
    filter_node: z.string().optional(),
    filter_graph: z.string().optional(),
    when: z.string().optional(),
  });

  const EntryPointCommon = {
    id: Id,
    name: z.string().optional(),
    entry_node: z.string().optional(),
    isolation_level: z.enum(["isolated", "shared", "synchronized"]).default(ENTRY_POINT_DEFAULTS.isolation_level),
    max_concurrent: PositiveInt.default(ENTRY_POINT_DEFAULTS.max_concurrent),
    overlap: z.enum(["queue", "skip", "cancel_previous", "reject"]).optional(),
    max_queued: NonNegativeInt.default(ENTRY_POINT_DEFAULTS.max_queued),
    input_schema: JsonSchemaObject.optional(),
    limits: LimitsSchema.optional(),
  };

  const EmptyTriggerConfig = strict({}).optional();

  const EntryPointSchema = z.discriminatedUnion("trigger_type", [
    strict({ ...EntryPointCommon, trigger_type: z.literal("manual"), trigger_config: EmptyTriggerConfig }),
    strict({ ...EntryPointCommon, trigger_type: z.literal("api"), trigger_config: EmptyTriggerConfig }),
    strict({ ...EntryPointCommon, trigger_type: z.literal("timer"), trigger_config: TimerConfigSchema }),
    strict({ ...EntryPointCommon, trigger_type: z.literal("event"), trigger_config: EventConfigSchema }),
  ]);

  // ---------------------------------------------------------------- runtime

  const { WebhookRouteSchema, RuntimeSchema } = runtimeSchemas(z, primitives);

  // ---------------------------------------------------------------- the file

  const Criterion = z.union([z.string(), strict({ id: z.string().optional(), description: z.string() })]);

  const GoalSchema = strict({
    description: z.string(),
    success_criteria: z.array(Criterion).default([]),
    constraints: z.array(Criterion).default([]),
  });

  const AgentFileSchema = strict({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, "expected a lower-case name of letters, digits, '_' or '-'"),
    description: z.string().default(""),
    goal: GoalSchema.optional(),
    llm: LlmSchema.optional(),
    tools: z.record(z.string(), ToolSchema).default({}),
    mcp_servers: z.record(z.string(), McpServerSchema).default({}),
    graph: GraphSchema,
    entry_points: z.array(EntryPointSchema).optional(),
    runtime: RuntimeSchema.default(runtimeDefaults),
  });

  return { Duration, LimitsSchema, MockResponseSchema, LlmSchema, HttpToolSchema, ShellToolSchema, EmitToolSchema, ToolSchema, McpServerSchema, LlmNodeSchema, ToolNodeSchema, FunctionNodeSchema, NodeSchema, EdgeSchema, GraphSchema, TimerConfigSchema, EventConfigSchema, EntryPointSchema, WebhookRouteSchema, RuntimeSchema, GoalSchema, AgentFileSchema };
}

/** The zod schemas of the agent file, built on first use. */
export type AgentSchemas = ReturnType<typeof build>;

let built: AgentSchemas | undefined;

/** The agent file's zod schemas; the first call loads zod and builds them. */
export function schemas(): AgentSchemas {
  return (built ??= build(zod().z));
}

/**
 * The parse options for a schema checked once per file. Without them zod
 * compiles a fast path for each object schema (`new Function`) on its first
 * parse; an agent file is parsed once or twice, so compiling costs more
 * than it saves (about 11 ms of a 20 ms first parse, issue 15). The issues
 * found are the same either way.
 */
export const PARSE_ONCE = { jitless: true } as const;

/** Budgets of one execution (`graph.limits`, an entry point's `limits`): timeout, LLM and tool calls, tokens, cost. */
export type Limits = Zod.output<AgentSchemas["LimitsSchema"]>;
export type MockResponse = Zod.output<AgentSchemas["MockResponseSchema"]>;
/** The agent file's `llm` section: provider, model, endpoint, key, retries and pricing. */
export type LlmConfig = Zod.output<AgentSchemas["LlmSchema"]>;
export type HttpToolDef = Zod.output<AgentSchemas["HttpToolSchema"]>;
export type ShellToolDef = Zod.output<AgentSchemas["ShellToolSchema"]>;
export type EmitToolDef = Zod.output<AgentSchemas["EmitToolSchema"]>;
/** One tool of the agent file's `tools` map: an `http`, `shell` or `emit` tool. */
export type ToolDef = Zod.output<AgentSchemas["ToolSchema"]>;
export type McpServerDef = Zod.output<AgentSchemas["McpServerSchema"]>;
export type LlmNode = Zod.output<AgentSchemas["LlmNodeSchema"]>;
export type ToolNode = Zod.output<AgentSchemas["ToolNodeSchema"]>;
export type FunctionNode = Zod.output<AgentSchemas["FunctionNodeSchema"]>;
/** One node of the graph: an `llm`, `tool` or `function` node. */
export type NodeDef = Zod.output<AgentSchemas["NodeSchema"]>;
export type EdgeDef = Zod.output<AgentSchemas["EdgeSchema"]>;
export type GraphDef = Zod.output<AgentSchemas["GraphSchema"]>;
/** A timer entry point's `trigger_config`: interval or cron, timezone, idle timeout, catch-up. */
export type TimerConfig = Zod.output<AgentSchemas["TimerConfigSchema"]>;
/** An event entry point's `trigger_config`: which events trigger it (types, filters, a CEL `when`). */
export type EventConfig = Zod.output<AgentSchemas["EventConfigSchema"]>;
/** One item of the agent file's `entry_points`, validated, with defaults applied. */
export type EntryPointDef = Zod.output<AgentSchemas["EntryPointSchema"]>;
export type TriggerType = EntryPointDef["trigger_type"];
export type IsolationLevel = EntryPointDef["isolation_level"];
/** What a trigger does when all of an entry point's slots are busy: `queue`, `skip`, `cancel_previous` or `reject`. */
export type OverlapPolicy = NonNullable<EntryPointDef["overlap"]>;
export type WebhookRouteDef = Zod.output<AgentSchemas["WebhookRouteSchema"]>;
/** The agent file's `runtime` section with defaults applied: concurrency, listeners, webhook routes, retention, shutdown grace, storage backend. */
export type RuntimeConfig = Zod.output<AgentSchemas["RuntimeSchema"]>;
/** An agent file's content, validated, with defaults applied; `Agent` is this plus where it came from and resolved entry points. */
export type AgentFile = Zod.output<AgentSchemas["AgentFileSchema"]>;

/**
 * A loaded agent: the file's content with defaults applied, plus where it
 * came from. `entry_points` is always filled (a `default` manual entry point
 * when the file has none); each entry point's `entry_node` and `overlap` are
 * resolved.
 */
export interface Agent extends Omit<AgentFile, "entry_points"> {
  /** The entry points, resolved; never empty. */
  entry_points: ResolvedEntryPoint[];
  /** Absolute path of the agent file ("<inline>" when built in code). */
  source_path: string;
  /** Folder that relative paths in the file resolve against. */
  base_dir: string;
}

/** An entry point with its defaults resolved: what the runtime runs. */
export type ResolvedEntryPoint = EntryPointDef & {
  /** The node executions start at: the entry point's own, else the graph's `entry_node`, else its first node. */
  entry_node: string;
  /** What a trigger does when all slots are busy: the entry point's own, else `cancel_previous` with `max_concurrent: 1`, else `queue`. */
  overlap: OverlapPolicy;
};
