/**
 * AgentRuntime: the headless runtime as a library (SPEC 4 and 8), and the
 * composition root of the runtime, whose parts runtime-parts.ts builds:
 * agents and their entry point streams (agent-registry.ts, stream.ts),
 * queues (dispatcher.ts), the global limiter (limiter.ts), timers and
 * event intake (queue-consumers.ts), triggers (trigger-admission.ts),
 * running one job (job-execution.ts), stats (runtime-stats.ts) and stop
 * (shutdown.ts).
 *
 * Sessions, state, keys, the ingest log, the execution queue, the global
 * slot limiter, the per-agent mutexes and the timer tick source all come
 * from one RuntimeBackend (backend.ts): `file` or `memory` in one process,
 * or `redis`, where several runtimes on one Redis act as one (SPEC 9:
 * cluster/, a BullMQ queue per entry point, a Redis semaphore and mutexes).
 * The overlap policy is a pure function of counts (admission.ts). The
 * runtime reaches executions only through the ExecutionQueue interface
 * (execution-queue.ts), falling back to the session store for what the
 * queue does not hold here, and to the queue's `settledElsewhere` to wait
 * for an execution another node runs.
 */
import { runtimeDefaults } from "../config/defaults.js";
import type { Agent, RuntimeConfig } from "../config/schema.js";
import { checkOptions, StateError } from "../errors.js";
import { EventBus } from "../events/bus.js";
import { terminalEvent } from "../events/terminal.js";
import type { EventFilter, EventHandler, EventInit, ForagerEvent, SubscribeOptions } from "../events/types.js";
import { silentLogger, type Logger } from "../logging/index.js";
import { resultView, type ExecutionResult } from "../result.js";
import type { ExecutionSummary, KeyStore, ListQuery, SessionStore, StateStore } from "../storage/types.js";
import { systemClock, type Clock } from "../util/clock.js";
import type { AgentRegistry } from "./agent-registry.js";
import type { RuntimeBackend } from "./backend.js";
import type { ExecutionQueue } from "./execution-queue.js";
import type { RetentionSchedule } from "./retention-schedule.js";
import type { EntryPointFileSpec, EntryPointSpec } from "./entry-point-spec.js";
import { TriggerRefusedError } from "./errors.js";
import type { EventIntake } from "./event-intake.js";
import { openStorage, usesState, type ExecutionRunner } from "./execution-runner.js";
import { liveResult } from "./job.js";
import { runJob } from "./job-execution.js";
import type { ReloadSummary } from "./reload-plan.js";
import { RUNTIME_OPTIONS, TRIGGER_OPTIONS, type AgentRuntimeOptions, type TriggerOptions } from "./runtime-options.js";
import { buildRuntimeParts } from "./runtime-parts.js";
import { buildRuntimeStats } from "./runtime-stats.js";
import { waitForSettled } from "./settled-wait.js";
import { shutdown } from "./shutdown.js";
import { admitTrigger } from "./trigger-admission.js";
import type { TimerScheduler } from "./timers.js";
import {
  TriggerError,
  type IngestOutcome,
  type LifecycleState,
  type RerunOutcome,
  type RuntimeHandle,
  type RuntimeStats,
  type StopOptions,
  type IngestOptions,
  type TriggerOutcome,
  type TriggerRequest,
  type WaitOptions,
} from "./types.js";

export type { AgentRuntimeOptions, TriggerOptions } from "./runtime-options.js";

/** Events that end an execution. */
const FINAL_EVENTS: ReadonlySet<string> = new Set(["execution_completed", "execution_failed", "execution_cancelled"]);

/** The headless runtime: entry points, queues, timers, events, stats. */
export class AgentRuntime implements RuntimeHandle {
  /** The runtime settings in force: defaults, then the first agent's `runtime`, then `options.config`. */
  readonly config: RuntimeConfig;
  /** @internal */
  readonly bus: EventBus;
  /** @internal Sessions, state, keys, ingest log, limiter and mutexes (backend.ts). */
  readonly backend: RuntimeBackend;
  private readonly clock: Clock;
  private readonly logger: Logger;
  /** The agents and their entry point streams (agent-registry.ts). */
  private readonly registry: AgentRegistry;
  private readonly queue: ExecutionQueue;
  private readonly intake: EventIntake;
  private readonly timers: TimerScheduler;
  /** Runs each execution; owns the tool resolvers, providers and function workers it builds. */
  private readonly runner: ExecutionRunner;
  private readonly retention: RetentionSchedule;
  private lifecycle: LifecycleState = "created";
  private startPromise?: Promise<void>;
  private stopPromise?: Promise<void>;
  private startedAtMs = 0;
  private paused = false;
  private unsubscribe?: () => void;

  constructor(private readonly options: AgentRuntimeOptions = {}) {
    checkOptions("AgentRuntime options", options, RUNTIME_OPTIONS);
    // redis_url has no default, so it is named here: an agent file's `runtime.redis_url` reaches the config (SPEC 9).
    checkOptions("AgentRuntime options.config", options.config, [...Object.keys(runtimeDefaults()), "storage_path", "redis_url"]);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger();
    const agents = [...(options.agent ? [options.agent] : []), ...(options.agents ?? [])];
    this.config = { ...runtimeDefaults(), ...(agents[0]?.runtime ?? {}), ...(options.config ?? {}) };
    this.bus = options.bus ?? new EventBus({ logger: this.logger, clock: this.clock });
    const parts = buildRuntimeParts({
      options,
      config: this.config,
      bus: this.bus,
      clock: this.clock,
      logger: this.logger,
      isRunning: () => this.lifecycle === "running",
      timersPaused: () => this.paused,
      cancel: (executionId, reason) => this.cancel(executionId, reason),
    });
    ({ backend: this.backend, runner: this.runner, retention: this.retention, queue: this.queue } = parts);
    ({ timers: this.timers, intake: this.intake, registry: this.registry } = parts);
    for (const agent of agents) this.registry.add(agent);
  }

  /** @internal */
  get store(): SessionStore {
    return this.backend.store;
  }

  /** @internal */
  get stateStore(): StateStore {
    return this.backend.state;
  }

  /** @internal */
  get keys(): KeyStore {
    return this.backend.keys;
  }

  /** The lifecycle state: created → starting → running → stopping → stopped. */
  get state(): LifecycleState {
    return this.lifecycle;
  }

  /** The last known pause state of the timers, cached: it never waits on a backend. */
  get timersPaused(): boolean {
    return this.timers.paused;
  }

  /** The names of the agents loaded. */
  agentNames(): string[] {
    return this.registry.names();
  }

  /**
   * Adds (or replaces) an entry point. Takes the seed's camelCase spec or
   * the file's snake_case form; `agentName` may be left out with one agent.
   */
  registerEntryPoint(spec: EntryPointSpec | EntryPointFileSpec, agentName?: string): void {
    if (this.lifecycle === "stopping" || this.lifecycle === "stopped") {
      throw new StateError(`cannot register an entry point: the runtime is ${this.lifecycle}`);
    }
    this.registry.register(spec, agentName);
  }

  /**
   * Replaces the agent definitions (what `serve` does on SIGHUP, SPEC 6).
   * Everything is checked before anything changes: on error this throws and
   * the current definitions stay. Then new and changed entry points take
   * work (a changed timer starts its new schedule now), removed ones stop
   * taking work, and executions already accepted, running or queued, finish
   * on the definition they were accepted with. Runtime settings (`config`)
   * are not reloaded. Returns what changed.
   */
  reload(agents: readonly Agent[]): ReloadSummary {
    if (this.lifecycle === "stopping" || this.lifecycle === "stopped") {
      throw new StateError(`cannot reload: the runtime is ${this.lifecycle}`);
    }
    return this.registry.reload(agents);
  }

  /** Opens storage, marks crashed sessions interrupted, starts event triggers and timers. Idempotent. */
  start(): Promise<void> {
    if (this.lifecycle === "stopping" || this.lifecycle === "stopped") {
      return Promise.reject(new StateError(`cannot start: the runtime is ${this.lifecycle}`));
    }
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    this.lifecycle = "starting";
    await this.runner.load();
    const stateAgents = [...this.registry.slots()].filter((slot) => slot.agent.entry_points.some(usesState)).map((slot) => slot.agent.name);
    const interrupted = await openStorage({ store: this.store, state: this.stateStore, logger: this.logger }, stateAgents);
    for (const record of interrupted) this.bus.publish(terminalEvent(record));
    await this.retention.runNow();
    // Local: each event is matched to event entry points once, by the process that published it.
    this.unsubscribe = this.bus.subscribe((event) => this.onEvent(event), undefined, { scope: "local" });
    const parts = { intake: this.intake, runner: this.runner, backend: this.backend, store: this.store, state: this.stateStore };
    await this.queue.start((job, _stream, signal) => runJob(parts, job, signal));
    this.startedAtMs = this.clock.now();
    this.lifecycle = "running";
    for (const stream of this.registry.streams()) this.registry.publishStream("stream_started", stream);
    await this.timers.startWithCatchUp();
    this.retention.arm();
  }

  /**
   * Starts (or queues) an execution and returns its id. Throws StateError
   * when the runtime is not running, TriggerError for an unknown entry
   * point or invalid input, TriggerRefusedError when skipped or rejected.
   */
  async trigger(entryPointId: string, input: Record<string, unknown> = {}, options: TriggerOptions = {}): Promise<string> {
    checkOptions("trigger options", options, TRIGGER_OPTIONS);
    if (this.lifecycle !== "running") {
      const hint = this.lifecycle === "created" || this.lifecycle === "starting" ? "; await start() first" : "";
      throw new StateError(`cannot trigger "${entryPointId}": the runtime is ${this.lifecycle}${hint}`);
    }
    const outcome = await this.submit({ agent: options.agent, entryPoint: entryPointId, input, idempotencyKey: options.idempotencyKey });
    if (outcome.status === "skipped" || outcome.status === "rejected") throw new TriggerRefusedError(entryPointId, outcome);
    return outcome.execution_id;
  }

  /** @internal The server's form of trigger: says what happened instead of throwing for skip/reject. */
  async submit(request: TriggerRequest): Promise<TriggerOutcome> {
    const stream = this.registry.findStream(request.agent, request.entryPoint);
    this.assertRunning();
    return admitTrigger(
      {
        queue: this.queue,
        keys: this.keys,
        nowMs: () => this.clock.now(),
        assertRunning: () => this.assertRunning(),
        getExecution: (id) => this.getExecution(id),
      },
      stream,
      request,
    );
  }

  /**
   * @internal
   * Records an external event (a webhook) and triggers the event entry
   * points it matches. Resolves after the event and the queued executions
   * are on disk; "full" (nothing recorded) when every matching entry point
   * would reject it.
   */
  async ingest(init: EventInit, options: IngestOptions = {}): Promise<IngestOutcome> {
    this.assertRunning();
    return this.intake.ingest(init, options);
  }

  /** An execution's result JSON, running or finished, from any process of a cluster; undefined for an unknown id. */
  async getExecution(executionId: string): Promise<ExecutionResult | undefined> {
    const job = this.queue.live(executionId);
    const found = job ? liveResult(job) : (this.queue.recent(executionId) ?? (await this.store.get(executionId)));
    return found && resultView(found);
  }

  /** Executions in storage, newest first, narrowed by `query`. */
  listExecutions(query?: ListQuery): Promise<ExecutionSummary[]> {
    return this.store.list(query);
  }

  /** Cancels a queued or running execution and resolves with its result once it has stopped. */
  async cancel(executionId: string, reason = "user"): Promise<ExecutionResult | undefined> {
    return (await this.queue.cancel(executionId, reason)) ?? this.getExecution(executionId);
  }

  /**
   * Re-runs a known execution (finished, cancelled at shutdown, interrupted
   * by a crash, or still going): same agent, entry point and input, checked
   * against the entry point's current input_schema and overlap policy.
   * Undefined when the id is unknown.
   */
  async rerun(executionId: string): Promise<RerunOutcome | undefined> {
    const live = this.queue.live(executionId);
    const source = live
      ? { agent: live.owner.agentName, entry_point: live.owner.entryPointId, input: live.input }
      : await this.store.get(executionId);
    if (!source) return undefined;
    const outcome = await this.submit({ agent: source.agent, entryPoint: source.entry_point, input: source.input ?? {}, rerunOf: executionId });
    return { ...outcome, rerun_of: executionId };
  }

  /** The execution's result once it has finished; undefined on timeout or for an unknown id. */
  async waitForCompletion(executionId: string, options: WaitOptions = {}): Promise<ExecutionResult | undefined> {
    return waitForSettled({ queue: this.queue, getExecution: (id) => this.getExecution(id) }, executionId, options);
  }

  /** Pauses timers: their ticks are skipped until `resumeTimers()`. Resolves once they are paused. */
  async pauseTimers(): Promise<void> {
    await this.timers.setPaused(true);
    this.paused = true;
  }

  /** Resumes paused timers; resolves once they fire again. */
  async resumeTimers(): Promise<void> {
    await this.timers.setPaused(false);
    this.paused = false;
  }

  /** Calls `handler` with each event that passes `filter`; returns the function that unsubscribes. */
  subscribe(handler: EventHandler, filter?: EventFilter, options?: SubscribeOptions): () => void {
    return this.bus.subscribe(handler, filter, options);
  }

  /** SPEC 4.5. Counters only: O(entry points), whatever the history. */
  async getStats(): Promise<RuntimeStats> {
    const local = buildRuntimeStats({
      slots: this.registry.slots(),
      queue: this.queue,
      bus: this.bus,
      timers: this.timers,
      running: this.lifecycle === "running",
      uptimeSeconds: this.startedAtMs === 0 || this.lifecycle === "created" ? 0 : Math.round(this.clock.now() - this.startedAtMs) / 1000,
      timersPaused: this.timers.paused,
      maxConcurrent: this.backend.limiter.max,
    });
    return this.backend.cluster ? this.backend.cluster.stats(local) : local;
  }

  /**
   * Stops intake and timers, lets running executions finish for `graceMs`
   * (default runtime.shutdown_grace_seconds), cancels the rest (reason
   * "shutdown"), records queued ones as cancelled, closes tools and
   * providers, flushes the bus and storage. Idempotent; every step runs
   * even when another fails.
   */
  stop(options: StopOptions = {}): Promise<void> {
    this.stopPromise ??= this.doStop(options.graceMs ?? this.config.shutdown_grace_seconds * 1000);
    return this.stopPromise;
  }

  private async doStop(graceMs: number): Promise<void> {
    if (this.lifecycle === "created") {
      this.lifecycle = "stopped";
      return;
    }
    if (this.lifecycle === "starting") await this.startPromise?.catch(() => undefined);
    this.lifecycle = "stopping";
    await shutdown(
      {
        logger: this.logger,
        timers: this.timers,
        queue: this.queue,
        retention: this.retention,
        runner: this.runner,
        registry: this.registry,
        bus: this.bus,
        store: this.store,
        intake: this.intake,
        backend: this.backend,
        ownsBackend: !this.options.backend,
        unsubscribe: this.unsubscribe,
      },
      graceMs,
    );
    this.lifecycle = "stopped";
  }

  // ------------------------------------------------------------ internals

  private assertRunning(): void {
    if (this.lifecycle !== "running") {
      throw new TriggerError("not_running", `the runtime is ${this.lifecycle}: it does not accept triggers`);
    }
  }

  private onEvent(event: ForagerEvent): void {
    if (event.graph_id && event.execution_id) this.queue.touch(event.graph_id);
    // Published once the final record is saved: the session now counts for retention.
    if (event.graph_id && FINAL_EVENTS.has(event.type)) this.retention.noteFinished(event.graph_id);
    this.intake.onEvent(event, this.lifecycle === "running");
  }
}
