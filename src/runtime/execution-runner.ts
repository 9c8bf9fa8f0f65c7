/**
 * One execution from request to result, the same for the daemon
 * (AgentRuntime's queues) and `forager run`: build what it needs (tools,
 * LLM provider, function workers), run the graph, write the final record
 * when it cannot even start, and close what was built. Also the storage
 * start-up both do once before their first execution.
 *
 * Seam: the runner knows nothing of queues or nodes; a worker that takes
 * jobs from a distributed queue runs them through the same class.
 */
import type { Agent, ResolvedEntryPoint } from "../config/schema.js";
import { errorMessage } from "../errors.js";
import type { EventBus } from "../events/bus.js";
import { terminalEvent } from "../events/terminal.js";
import { FunctionPool } from "../graph/nodes/function-pool.js";
import type { ExecuteGraph, ExecuteOptions } from "../graph/types.js";
import type { LlmProvider } from "../llm/types.js";
import type { Logger } from "../logging/index.js";
import type { ExecutionError, ExecutionRecord, ExecutionResult } from "../result.js";
import { assertStateReadable } from "../storage/state.js";
import type { SessionStore, StateStore } from "../storage/types.js";
import type { Clock } from "../util/clock.js";
import { AgentResources, type AgentResourceOptions } from "./agent-resources.js";

/** What one execution is: the executor's options without what the runner supplies. */
export type ExecutionRequest = Omit<ExecuteOptions, "signal" | "bus" | "store" | "state" | "llm" | "tools" | "functions" | "logger" | "clock">;

/**
 * The final record of an execution that could not start, from the host that
 * already recorded it as queued or running. A host that recorded nothing
 * yet (`forager run`) passes none, and the error goes to its caller instead.
 */
export type UnrunRecord = (status: "failed" | "cancelled", error: ExecutionError, nowMs: number) => ExecutionRecord;

export interface ExecutionRunnerOptions extends Omit<AgentResourceOptions, "logger" | "clock"> {
  bus: EventBus;
  store: SessionStore;
  state: StateStore;
  clock: Clock;
  logger: Logger;
  /** The graph executor; default executeGraph, loaded by `load()` or the first run. */
  execute?: ExecuteGraph;
  /** Wraps the provider an execution calls (tracing); the provider built is still the one closed. */
  wrapLlm?: (llm: LlmProvider) => LlmProvider;
  /** The function worker pool, when the caller made it (and perhaps started a worker) early; closed with the runner. */
  functions?: FunctionPool;
}

export class ExecutionRunner {
  private execute?: ExecuteGraph;
  /** Tool resolvers and providers, per agent definition. */
  private readonly resources: AgentResources;
  /** Worker threads for function nodes; none start until a function node runs (or `prewarm`). */
  private readonly functions: FunctionPool;

  constructor(private readonly options: ExecutionRunnerOptions) {
    this.execute = options.execute;
    this.functions = options.functions ?? new FunctionPool();
    this.resources = new AgentResources({ tools: options.tools, llm: options.llm, provider: options.provider, logger: options.logger, clock: options.clock });
  }

  /** Loads the executor now, so the first execution does not wait for it. */
  async load(): Promise<ExecuteGraph> {
    this.execute ??= (await import("../graph/executor.js")).executeGraph;
    return this.execute;
  }

  /** Starts a function worker now when the agent has function nodes, beside the host's own start-up. */
  prewarm(agent: Agent): void {
    if (agent.graph.nodes.some((node) => node.type === "function")) this.functions.prewarm();
  }

  /**
   * `state`: the state store this execution sees instead of the shared one
   * (a synchronized execution's fenced store); `store`: the session store
   * its records go through (a cluster adds `attempt` and `node` to them).
   */
  async run(
    request: ExecutionRequest,
    signal: AbortSignal,
    unrun?: UnrunRecord,
    state: StateStore = this.options.state,
    store: SessionStore = this.options.store,
  ): Promise<ExecutionResult> {
    const { bus, clock, logger, wrapLlm } = this.options;
    const { agent } = request;
    try {
      const [execute, tools, llm] = await Promise.all([this.load(), this.resources.tools(agent), this.resources.llm(agent)]);
      return await execute({
        ...request,
        signal,
        bus,
        store,
        state,
        llm: llm && wrapLlm ? wrapLlm(llm) : llm,
        tools,
        functions: this.functions,
        logger,
        clock,
      });
    } catch (err) {
      if (!unrun) throw err;
      // The executor never ran (tools or provider could not be built) or broke its contract.
      const log = logger.child({ agent: agent.name, entry_point: request.entryPoint.id, execution_id: request.executionId, session_id: request.sessionId });
      log.error({ err }, "execution could not run");
      const cancelled = signal.aborted;
      const reason = String(signal.reason);
      const record = cancelled
        ? unrun("cancelled", { code: "cancelled", message: `cancelled (${reason})`, reason }, clock.now())
        : unrun("failed", { code: "startup_failed", message: errorMessage(err) }, clock.now());
      await store.save(record).catch((e: unknown) => log.error({ err: e }, "could not record the failed execution"));
      bus.publish(terminalEvent(record));
      return record;
    }
  }

  /** Closes what was built for one definition (a reload replaced it and its executions are done). */
  release(agent: Agent, onError: (err: unknown) => void): Promise<void> {
    return this.resources.release(agent, onError);
  }

  /** Stops the function workers and closes the tools and providers built here; every close runs even when one fails. */
  async close(onError: (err: unknown) => void): Promise<void> {
    await this.functions.close().catch(onError);
    await this.resources.close(onError);
  }
}

/** An entry point whose executions see the agent's shared state: every isolation level but `isolated`. */
export function usesState(entryPoint: ResolvedEntryPoint): boolean {
  return entryPoint.isolation_level !== "isolated";
}

/**
 * What a host does with its storage before its first execution: a shared
 * state file that does not parse refuses the start (SPEC 4.4) rather than
 * failing every execution, and executions an earlier process left
 * unfinished are marked interrupted and logged. Returns those records.
 */
export async function openStorage(
  storage: { store: SessionStore; state: StateStore; logger: Logger },
  /** The agents whose executions can see the shared state. */
  stateAgents: Iterable<string>,
): Promise<ExecutionRecord[]> {
  for (const agent of stateAgents) await assertStateReadable(storage.state, agent);
  const interrupted = await storage.store.init();
  for (const record of interrupted) {
    storage.logger.warn({ execution_id: record.execution_id, agent: record.agent }, "marked an execution left unfinished by an earlier run as interrupted");
  }
  return interrupted;
}
