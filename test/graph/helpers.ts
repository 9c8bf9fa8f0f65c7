/** Fakes and builders for executor tests: real EventBus, memory stores, scripted LLM, fake tools. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { schemas, type Agent, type Limits } from "../../src/config/schema.js";
import { resolveAgent } from "../../src/config/resolve.js";
import { EventBus } from "../../src/events/bus.js";
import type { EventType, ForagerEvent } from "../../src/events/types.js";
import { executeGraph } from "../../src/graph/index.js";
import type { ExecuteOptions } from "../../src/graph/types.js";
import type { LlmProvider, LlmRequest, LlmResponse } from "../../src/llm/types.js";
import { silentLogger } from "../../src/logging/index.js";
import type { ExecutionResult } from "../../src/result.js";
import { MemorySessionStore } from "../../src/storage/memory.js";
import { MemoryStateStore } from "../../src/storage/state.js";
import type { SessionStore, StateStore } from "../../src/storage/types.js";
import { ToolError, type Tool, type ToolContext, type ToolResolver } from "../../src/tools/types.js";

/** Builds an agent from the parsed shape of an agent file (defaults applied, no file checks). */
export function makeAgent(file: Record<string, unknown>, baseDir = tmpdir()): Agent {
  const parsed = schemas().AgentFileSchema.parse({ name: "test-agent", ...file });
  return resolveAgent(parsed, "<inline>", baseDir);
}

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "forager-graph-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function writeModule(dir: string, name: string, source: string): Promise<string> {
  await writeFile(join(dir, name), source);
  return name;
}

export class FakeTool implements Tool {
  readonly exposedName: string;
  readonly description = "a fake tool";
  readonly inputSchema = { type: "object" };
  readonly calls: Record<string, unknown>[] = [];
  readonly signals: AbortSignal[] = [];
  constructor(
    readonly name: string,
    private readonly impl: (args: Record<string, unknown>, ctx: ToolContext) => unknown | Promise<unknown>,
  ) {
    this.exposedName = name.replace(".", "__");
  }
  async call(args: Record<string, unknown>, ctx: ToolContext): Promise<unknown> {
    this.calls.push(args);
    this.signals.push(ctx.signal);
    return this.impl(args, ctx);
  }
}

export class FakeResolver implements ToolResolver {
  private readonly tools = new Map<string, Tool>();
  constructor(tools: Tool[] = []) {
    for (const tool of tools) this.tools.set(tool.name, tool);
  }
  async get(name: string): Promise<Tool> {
    const tool = this.tools.get(name) ?? [...this.tools.values()].find((t) => t.exposedName === name);
    if (!tool) throw new ToolError(name, `no tool "${name}"`);
    return tool;
  }
  async resolve(names: readonly string[]): Promise<Tool[]> {
    return Promise.all(names.map((name) => this.get(name)));
  }
  async close(): Promise<void> {}
}

export type Turn = Partial<LlmResponse> | ((request: LlmRequest, signal: AbortSignal) => Promise<LlmResponse> | LlmResponse);

/** A provider that answers from a script, one entry per call, and remembers every request. */
export class ScriptedLlm implements LlmProvider {
  readonly name = "scripted";
  readonly requests: LlmRequest[] = [];
  private index = 0;
  constructor(private readonly turns: Turn[]) {}
  async complete(request: LlmRequest, signal: AbortSignal): Promise<LlmResponse> {
    this.requests.push(structuredClone(request));
    const turn = this.turns[this.index++];
    if (!turn) throw new Error(`script ran out after ${this.index - 1} turns`);
    if (typeof turn === "function") return turn(request, signal);
    return {
      text: turn.text ?? "",
      tool_calls: turn.tool_calls ?? [],
      usage: turn.usage ?? { input_tokens: 10, output_tokens: 5 },
    };
  }
  get calls(): number {
    return this.requests.length;
  }
}

/** A set_output tool call. */
export function setOutput(key: string, value: unknown, id = `call_${key}`) {
  return { id, name: "set_output", arguments: { key, value } };
}

export interface RunOutcome {
  result: ExecutionResult;
  events: ForagerEvent[];
  store: SessionStore;
  state: StateStore;
  bus: EventBus;
}

export interface RunOptions extends Partial<Omit<ExecuteOptions, "agent">> {
  entryPointId?: string;
}

let counter = 0;

export async function run(agent: Agent, options: RunOptions = {}): Promise<RunOutcome> {
  const bus = (options.bus as EventBus | undefined) ?? new EventBus();
  const store = options.store ?? new MemorySessionStore();
  const state = options.state ?? new MemoryStateStore();
  const entryPoint = agent.entry_points.find((ep) => ep.id === (options.entryPointId ?? agent.entry_points[0]!.id))!;
  counter++;
  const result = await executeGraph({
    agent,
    entryPoint,
    input: options.input ?? {},
    executionId: options.executionId ?? `exec_test_${counter}`,
    sessionId: options.sessionId ?? `session_test_${counter}`,
    signal: options.signal ?? new AbortController().signal,
    bus,
    store,
    state,
    llm: options.llm,
    tools: options.tools ?? new FakeResolver(),
    logger: options.logger ?? silentLogger(),
    limits: options.limits as Limits | undefined,
    clock: options.clock,
    attempt: options.attempt,
    queuedAt: options.queuedAt,
    idempotencyKey: options.idempotencyKey,
  });
  const events = bus.history({ execution_id: result.execution_id });
  return { result, events, store, state, bus };
}

export function types(events: ForagerEvent[]): EventType[] {
  return events.map((event) => event.type);
}

export function ofType(events: ForagerEvent[], type: EventType): ForagerEvent[] {
  return events.filter((event) => event.type === type);
}

/** A function node definition. */
export function fnNode(id: string, module: string, extra: Record<string, unknown> = {}) {
  return { id, type: "function", module, ...extra };
}
