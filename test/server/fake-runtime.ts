/** A RuntimeHandle for server tests: records calls, answers what each test tells it to. */
import type { EventFilter, EventHandler, EventInit, ForagerEvent, SubscribeOptions, SubscriptionScope } from "../../src/events/types.js";
import type { ExecutionResult } from "../../src/result.js";
import type {
  IngestOutcome,
  LifecycleState,
  RerunOutcome,
  RuntimeHandle,
  RuntimeStats,
  StopOptions,
  TriggerOutcome,
  TriggerRequest,
  WaitOptions,
} from "../../src/runtime/types.js";
import type { ExecutionSummary, ListQuery } from "../../src/storage/types.js";
import { newEventId, newExecutionId, newSessionId } from "../../src/util/ids.js";

export function resultFor(id: string, status: ExecutionResult["status"] = "completed"): ExecutionResult {
  return {
    schema_version: 1,
    execution_id: id,
    session_id: "session_20260101_000000_abcdef01",
    agent: "demo",
    entry_point: "api",
    status,
    success: status === "completed",
    output: status === "completed" ? { answer: 42 } : {},
    error: status === "completed" ? null : { code: status, message: `execution ${status}` },
    path: ["start"],
    steps_executed: 1,
    usage: { llm_calls: 0, tool_calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 },
    started_at: "2026-01-01T00:00:00.000Z",
    finished_at: "2026-01-01T00:00:01.000Z",
    duration_ms: 1000,
  };
}

export class FakeRuntime implements RuntimeHandle {
  state: LifecycleState = "running";
  timersPaused = false;
  agents = ["demo"];
  readonly ingested: EventInit[] = [];
  readonly submitted: TriggerRequest[] = [];
  readonly cancelled: string[] = [];
  readonly stopCalls: StopOptions[] = [];
  readonly executions = new Map<string, ExecutionResult>();
  /** The scope of every subscription made, in order. */
  readonly scopes: (SubscriptionScope | undefined)[] = [];
  readonly subscribers = new Set<{ handler: EventHandler; filter?: EventFilter; scope?: SubscriptionScope }>();
  /** Override per test. */
  ingestImpl: (init: EventInit) => Promise<IngestOutcome> = async (init) => ({
    status: "accepted",
    event: this.toEvent(init),
    executions: [newExecutionId()],
  });
  submitImpl: (request: TriggerRequest) => Promise<TriggerOutcome> = async () => {
    const id = newExecutionId();
    this.executions.set(id, { ...resultFor(id), status: "queued", success: false });
    return { status: "queued", execution_id: id, session_id: newSessionId() };
  };
  waitImpl: (id: string, options?: WaitOptions) => Promise<ExecutionResult | undefined> = async (id) => {
    const done = resultFor(id);
    this.executions.set(id, done);
    return done;
  };

  agentNames(): string[] {
    return this.agents;
  }

  toEvent(init: EventInit): ForagerEvent {
    return {
      id: init.id ?? newEventId(),
      type: init.type,
      timestamp: init.timestamp ?? new Date().toISOString(),
      graph_id: init.graph_id ?? null,
      stream_id: init.stream_id ?? null,
      execution_id: init.execution_id ?? null,
      session_id: init.session_id ?? null,
      node_id: init.node_id ?? null,
      correlation_id: init.correlation_id ?? null,
      data: init.data ?? {},
    };
  }

  async ingest(init: EventInit): Promise<IngestOutcome> {
    this.ingested.push(init);
    return this.ingestImpl(init);
  }

  async submit(request: TriggerRequest): Promise<TriggerOutcome> {
    this.submitted.push(request);
    return this.submitImpl(request);
  }

  async getExecution(id: string): Promise<ExecutionResult | undefined> {
    return this.executions.get(id);
  }

  async listExecutions(query: ListQuery = {}): Promise<ExecutionSummary[]> {
    return [...this.executions.values()]
      .filter((r) => !query.status || r.status === query.status)
      .filter((r) => !query.agent || r.agent === query.agent)
      .slice(0, query.limit ?? 50)
      .map((r) => ({
        execution_id: r.execution_id,
        session_id: r.session_id,
        agent: r.agent,
        entry_point: r.entry_point,
        status: r.status,
        started_at: r.started_at,
        finished_at: r.finished_at,
        queued_at: "2026-01-01T00:00:00.000Z",
      }));
  }

  async rerun(id: string): Promise<RerunOutcome | undefined> {
    const source = this.executions.get(id);
    if (!source) return undefined;
    const outcome = await this.submit({ agent: source.agent, entryPoint: source.entry_point, input: {}, rerunOf: id });
    return { ...outcome, rerun_of: id };
  }

  async cancel(id: string): Promise<ExecutionResult | undefined> {
    this.cancelled.push(id);
    const current = this.executions.get(id);
    if (!current) return undefined;
    const done = { ...current, status: "cancelled" as const, success: false, error: { code: "cancelled", message: "cancelled", reason: "user" } };
    this.executions.set(id, done);
    return done;
  }

  waitForCompletion(id: string, options?: WaitOptions): Promise<ExecutionResult | undefined> {
    return this.waitImpl(id, options);
  }

  async pauseTimers(): Promise<void> {
    this.timersPaused = true;
  }

  async resumeTimers(): Promise<void> {
    this.timersPaused = false;
  }

  async getStats(): Promise<RuntimeStats> {
    return {
      running: this.state === "running",
      uptime_seconds: 12.5,
      timers_paused: this.timersPaused,
      active_executions: 2,
      queued_executions: 1,
      max_concurrent_executions: 100,
      streams: {
        "demo/api": {
          agent: "demo",
          entry_point: "api",
          trigger_type: "api",
          status_counts: { queued: 1, running: 2, completed: 40, failed: 1, cancelled: 0 },
          max_concurrent: 10,
          available_slots: 8,
          agent_idle_seconds: 0.4,
        },
      },
      timers: {
        "demo/tick": { paused: this.timersPaused, next_run_at: "2026-01-01T00:05:00.000Z", last_fired_at: null, fired: 3, skipped: 1 },
      },
      event_bus: { total_events: 950, subscriptions: this.subscribers.size, events_by_type: {}, dropped_from_history: 0, subscriber_errors: 0 },
    };
  }

  subscribe(handler: EventHandler, filter?: EventFilter, options?: SubscribeOptions): () => void {
    const entry = { handler, filter, scope: options?.scope };
    this.scopes.push(options?.scope);
    this.subscribers.add(entry);
    return () => this.subscribers.delete(entry);
  }

  publish(init: EventInit): ForagerEvent {
    const event = this.toEvent(init);
    for (const { handler, filter } of this.subscribers) {
      if (filter?.types && !filter.types.includes(event.type)) continue;
      void handler(event);
    }
    return event;
  }

  async stop(options: StopOptions = {}): Promise<void> {
    this.stopCalls.push(options);
    this.state = "stopped";
  }
}
