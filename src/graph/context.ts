/**
 * The state of one running execution: ids, memory, the view of shared
 * state, usage, the abort controller that stops everything, and the event
 * sink that publishes on the bus and appends to the session's event log.
 */
import type { Agent, ResolvedEntryPoint } from "../config/schema.js";
import type { EventInit, EventType, ForagerEvent } from "../events/types.js";
import type { Logger } from "../logging/index.js";
import { errorMessage } from "../errors.js";
import { systemClock, type Clock } from "../util/clock.js";
import { isPlainObject } from "../util/json.js";
import type { ProcessGroupRecord } from "../util/process-groups.js";
import { Budget, type BudgetBreach } from "./limits.js";
import { ExecutionHalt, type HaltInfo } from "./errors.js";
import type { ExecuteOptions } from "./types.js";

/** The names templates and conditions see (SPEC 3.1). */
export interface Scope extends Record<string, unknown> {
  input: Record<string, unknown>;
  memory: Record<string, unknown>;
  state: Record<string, unknown>;
  event: unknown;
  execution: { id: string; session_id: string; entry_point: string; attempt: number };
}

export class ExecutionRun {
  readonly agent: Agent;
  readonly entryPoint: ResolvedEntryPoint;
  readonly executionId: string;
  readonly sessionId: string;
  readonly attempt: number;
  readonly input: Record<string, unknown>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly budget: Budget;
  readonly isolated: boolean;
  /** Aborted when the execution halts or ends: every node signal hangs off it. */
  readonly controller = new AbortController();
  readonly memory: Record<string, unknown>;
  /** Keys written during this execution, in first-write order (the default graph output). */
  readonly written = new Set<string>();
  /** The latest known shared state (empty under isolation). */
  state: Record<string, unknown> = {};
  halted?: HaltInfo;
  storageError?: string;

  private readonly options: ExecuteOptions;
  private readonly correlationId: string;
  private readonly executionInfo: Scope["execution"];
  private pending: ForagerEvent[] = [];
  private flushTimer?: ReturnType<typeof setImmediate>;
  private storeChain: Promise<void> = Promise.resolve();

  constructor(options: ExecuteOptions) {
    this.options = options;
    this.agent = options.agent;
    this.entryPoint = options.entryPoint;
    this.executionId = options.executionId;
    this.sessionId = options.sessionId;
    this.attempt = options.attempt ?? 1;
    this.input = options.input ?? {};
    this.clock = options.clock ?? systemClock;
    // The executor binds the execution's context; callers pass their logger without it.
    this.logger = options.logger.child({ agent: this.agent.name, entry_point: this.entryPoint.id, execution_id: this.executionId, session_id: options.sessionId });
    this.budget = new Budget(options.limits ?? {}, this.agent.llm?.pricing);
    this.isolated = this.entryPoint.isolation_level === "isolated";
    this.memory = copyInput(this.input);
    this.executionInfo = { id: this.executionId, session_id: this.sessionId, entry_point: this.entryPoint.id, attempt: this.attempt };
    const trigger = this.input.event;
    const fromTrigger = isPlainObject(trigger) ? (trigger.correlation_id ?? trigger.id) : undefined;
    this.correlationId = typeof fromTrigger === "string" && fromTrigger ? fromTrigger : this.executionId;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  // ------------------------------------------------------------ events

  /** Publishes one event of this execution and queues it for the session's event log. */
  emit(type: EventType, data: Record<string, unknown>, nodeId: string | null = null): ForagerEvent {
    return this.publish({ type, data, node_id: nodeId });
  }

  /** Publishes an event with this execution's ids filled in where the caller left them out (emit tools). */
  publish(init: EventInit): ForagerEvent {
    const event = this.options.bus.publish({
      graph_id: this.agent.name,
      stream_id: this.entryPoint.id,
      execution_id: this.executionId,
      session_id: this.sessionId,
      node_id: null,
      correlation_id: this.correlationId,
      ...init,
    });
    if (this.options.store) {
      this.pending.push(event);
      // Events emitted in one burst go to the store as one batch.
      this.flushTimer ??= setImmediate(() => {
        this.flushTimer = undefined;
        this.flushEvents();
      });
    }
    return event;
  }

  /**
   * Records a tool's process group in the session's folder while it runs;
   * the returned release removes it (after the record is written). A failed
   * write is logged, never fails the tool: it only costs the crash clean-up.
   */
  trackProcessGroup(group: ProcessGroupRecord): () => void {
    const store = this.options.store;
    if (!store?.recordProcessGroup || !store.releaseProcessGroup) return () => undefined;
    const agent = this.agent.name;
    const warn = (err: unknown) => this.logger.warn({ pgid: group.pgid, err: errorMessage(err) }, "could not record a tool's process group");
    const recorded = store.recordProcessGroup(agent, this.sessionId, group).then(
      () => true,
      (err: unknown) => (warn(err), false),
    );
    return () => {
      void recorded.then((ok) => (ok ? store.releaseProcessGroup!(agent, this.sessionId, group.pid) : undefined)).catch(warn);
    };
  }

  /** Hands queued events to the store; a failed write is remembered and fails the execution. */
  flushEvents(): Promise<void> {
    if (this.flushTimer) {
      clearImmediate(this.flushTimer);
      this.flushTimer = undefined;
    }
    const store = this.options.store;
    if (store && this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      this.storeChain = this.storeChain.then(() =>
        store.appendEvents(this.agent.name, this.sessionId, batch).catch((err: unknown) => {
          this.noteStorageError(`could not append events to session ${this.sessionId}: ${errorMessage(err)}`);
        }),
      );
    }
    return this.storeChain;
  }

  noteStorageError(message: string): void {
    this.storageError ??= message;
    this.logger.error({ err: message }, "storage write failed");
  }

  // ------------------------------------------------------------ halting

  /** Stops the execution (first reason wins) and aborts every running node. */
  halt(info: HaltInfo): ExecutionHalt {
    if (!this.halted) {
      this.halted = info;
      this.controller.abort(new ExecutionHalt(info));
    }
    return new ExecutionHalt(this.halted);
  }

  /** A limit was hit: emits `budget_exceeded`, halts and throws. */
  exceed(breach: BudgetBreach, nodeId: string | null): never {
    if (!this.halted) {
      this.emit("budget_exceeded", { limit: breach.limit, limit_value: breach.limit_value, used: breach.used, usage: { ...this.budget.usage } }, nodeId);
    }
    throw this.halt({ status: "budget_exceeded", code: "budget_exceeded", message: breach.message, node_id: nodeId });
  }

  // ------------------------------------------------------------ scope

  /** Reads shared state fresh before a node runs (other executions may have written it). */
  async refreshState(): Promise<void> {
    if (this.isolated) return;
    try {
      this.state = await this.options.state.read(this.agent.name);
    } catch (err) {
      throw this.storageHalt(`could not read the shared state of agent "${this.agent.name}": ${errorMessage(err)}`);
    }
  }

  /** The scope for templates and conditions; `inputKeys` narrows what memory shows. */
  scope(inputKeys?: readonly string[]): Scope {
    let memory = this.memory;
    if (inputKeys) {
      memory = {};
      for (const key of inputKeys) if (key in this.memory) memory[key] = this.memory[key];
    }
    return {
      input: this.input,
      memory,
      state: this.state,
      event: this.input.event ?? null,
      execution: this.executionInfo,
    };
  }

  /** Writes shared state keys through the StateStore. */
  async writeState(changes: Record<string, unknown>): Promise<void> {
    try {
      this.state = await this.options.state.write(this.agent.name, changes);
    } catch (err) {
      throw this.storageHalt(`could not write the shared state of agent "${this.agent.name}": ${errorMessage(err)}`);
    }
  }

  private storageHalt(message: string): ExecutionHalt {
    this.noteStorageError(message);
    return this.halt({ status: "failed", code: "storage_error", message });
  }
}

function copyInput(input: Record<string, unknown>): Record<string, unknown> {
  try {
    return structuredClone(input);
  } catch {
    // Inputs built in code may hold functions or class instances: a shallow copy still isolates the keys.
    return { ...input };
  }
}
