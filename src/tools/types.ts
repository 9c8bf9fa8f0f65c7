/**
 * A tool is anything a node can call: built-in http / shell / emit tools
 * from the agent file, and tools of MCP servers. A tool error is thrown as
 * ToolError: it fails a `tool` node and is handed back to the model in an
 * `llm` node.
 */
import { ForagerError } from "../errors.js";
import type { Logger } from "../logging/index.js";
import type { EventInit, ForagerEvent } from "../events/types.js";
import type { ProcessGroupRecord } from "../util/process-groups.js";

/** What a tool call gets besides its arguments: the execution's signal, scope, logger and event bus. */
export interface ToolContext {
  /** Aborts when the execution is cancelled or times out: the tool must stop then. */
  signal: AbortSignal;
  /** Template scope without `args`: input, memory, state, event, execution. */
  scope: Record<string, unknown>;
  /** The execution's logger. */
  logger: Logger;
  /** Publishes on the event bus with the execution's ids filled in (emit tool). */
  publish(event: EventInit): ForagerEvent;
  /**
   * @internal
   * Records a process group the tool started in the execution's session
   * while it runs (so a restart after a crash can stop it); call the
   * returned function once the program is reaped. Absent: nothing records.
   */
  trackProcessGroup?(group: ProcessGroupRecord): () => void;
}

/** One callable tool, as nodes and models see it. */
export interface Tool {
  /** The name in the agent file: `fetch_page`, or `SERVER.TOOL` for MCP tools. */
  readonly name: string;
  /** The name shown to models: ^[a-zA-Z0-9_-]{1,64}$ (`SERVER__TOOL`). */
  readonly exposedName: string;
  /** What the tool does, shown to models. */
  readonly description: string;
  /** JSON Schema of the arguments object. */
  readonly inputSchema: Record<string, unknown>;
  /** Validates args against inputSchema first; throws ToolError on any failure. */
  call(args: Record<string, unknown>, ctx: ToolContext): Promise<unknown>;
}

/** A tool call that failed (code `tool_error`): fails a `tool` node, and is handed back to the model in an `llm` node. */
export class ToolError extends ForagerError {
  /** What the tool returned before failing, if anything (e.g. a shell tool's stdout). */
  readonly result?: unknown;
  /** The tool's name in the agent file. */
  readonly tool: string;
  constructor(tool: string, message: string, options: { result?: unknown; cause?: unknown } = {}) {
    super("tool_error", message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = "ToolError";
    this.tool = tool;
    this.result = options.result;
  }
}

/** Resolves the tool names used in an agent file to tools; MCP servers start lazily. */
export interface ToolResolver {
  /** One tool by its file name (`fetch_page`, `files.read_file`) or exposed name. */
  get(name: string, signal?: AbortSignal): Promise<Tool>;
  /** Expands a node's `tools:` list (`SERVER.*` included) to tools. */
  resolve(names: readonly string[], signal?: AbortSignal): Promise<Tool[]>;
  /** Stops MCP servers; idempotent. */
  close(): Promise<void>;
}
