/**
 * AgentRuntime: the headless runtime as a library (SPEC 4 and 8), and the
 * composition root of the runtime: entry point streams and their queues
 * (stream.ts, dispatcher.ts), the global limiter (limiter.ts), timers
 * (timers.ts), event intake (event-intake.ts) and stats.
 *
 * Seams for growing past one process: sessions, state, keys, the ingest
 * log, the global slot limiter and the per-agent mutexes all come from one
 * RuntimeBackend (backend.ts: file or memory today), and the overlap policy
 * is a pure function of counts (admission.ts). The runtime reaches executions
 * only through the ExecutionQueue interface (execution-queue.ts), falling
 * back to the session store for what the queue does not hold. Still bound
 * to this process whatever the backend: the only queue is the in-process
 * Dispatcher, the limiter and mutexes are in-process ones (they take holder
 * ids and hand out fences, limiter.ts), and timers keep their own clock
 * (timers.ts).
 */
import { runtimeDefaults } from "../config/defaults.js";
import type { Agent, ResolvedEntryPoint, RuntimeConfig } from "../config/schema.js";
import { checkOptions, ForagerError, InvalidOptionError, StateError } from "../errors.js";
import { EventBus } from "../events/bus.js";
import { terminalEvent } from "../events/terminal.js";
import type { EventFilter, EventHandler, EventInit, ForagerEvent, SubscribeOptions } from "../events/types.js";
import type { ExecuteGraph } from "../graph/types.js";
import type { LlmProvider } from "../llm/types.js";
import { silentLogger, type Logger } from "../logging/index.js";
import { isTerminal, type ExecutionResult } from "../result.js";
import type { ExecutionSummary, KeyStore, ListQuery, SessionStore, StateStore } from "../storage/types.js";
import type { ToolResolver } from "../tools/types.js";
import { abortReason } from "../util/abort.js";
import { systemClock, type Clock } from "../util/clock.js";
import { jsonSchemaErrors } from "../util/json-schema.js";
import { createBackend, type RuntimeBackend } from "./backend.js";
import type { ExecutionQueue } from "./execution-queue.js";
import { admitOnce } from "./idempotency.js";
import { RetentionSchedule } from "./retention-schedule.js";
import { resolveEntryPoint, type EntryPointFileSpec, type EntryPointSpec } from "./entry-point-spec.js";
import { TriggerRefusedError } from "./errors.js";
import { EventIntake } from "./event-intake.js";
import { ExecutionRunner, openStorage, usesState } from "./execution-runner.js";
import { executionRequest, liveResult, unrunRecord, whenDone, type Job } from "./job.js";
import type { SlotLimiter } from "./limiter.js";
import { planReload, type CurrentAgent, type ReloadSummary } from "./reload-plan.js";
import { EntryPointStream } from "./stream.js";
import { TimerScheduler } from "./timers.js";
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


/** Events that end an execution. */
const FINAL_EVENTS: ReadonlySet<string> = new Set(["execution_completed", "execution_failed", "execution_cancelled"]);

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

const RUNTIME_OPTIONS = ["agent", "agents", "storagePath", "llm", "tools", "config", "clock", "logger", "execute", "bus", "store", "state", "keys", "limiter", "backend"];

/** Options of `trigger()`. */
export interface TriggerOptions {
  /** The agent whose entry point to trigger; optional with one agent. */
  agent?: string;
  /** A second trigger with the same key returns the first one's execution id instead of starting another. */
  idempotencyKey?: string;
}

const TRIGGER_OPTIONS = ["agent", "idempotencyKey"];
const WAIT_OPTIONS = ["timeoutMs", "signal"];

interface AgentSlot {
  agent: Agent;
  streams: Map<string, EntryPointStream>;
}

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
  private readonly agents = new Map<string, AgentSlot>();
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
    checkOptions("AgentRuntime options.config", options.config, [...Object.keys(runtimeDefaults()), "storage_path"]);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger();
    const agents = [...(options.agent ? [options.agent] : []), ...(options.agents ?? [])];
    this.config = { ...runtimeDefaults(), ...(agents[0]?.runtime ?? {}), ...(options.config ?? {}) };
    this.bus = options.bus ?? new EventBus({ logger: this.logger, clock: this.clock });
    this.backend = options.backend ?? createBackend(this.config, {
      storagePath: options.storagePath,
      clock: this.clock,
      logger: this.logger,
      store: options.store,
      state: options.state,
      keys: options.keys,
      limiter: options.limiter,
    });
    if (options.backend && (options.store || options.state || options.keys || options.limiter || options.storagePath !== undefined)) {
      throw new ForagerError("invalid_options", "pass either a backend or storagePath/store/state/keys/limiter, not both: the backend holds all of them");
    }
    const { ingestLog } = this.backend;
    this.runner = new ExecutionRunner({
      bus: this.bus,
      store: this.store,
      state: this.stateStore,
      clock: this.clock,
      logger: this.logger,
      execute: options.execute,
      tools: options.tools,
      llm: options.llm,
    });
    this.retention = new RetentionSchedule({
      store: this.store,
      ingestLog,
      policy: this.config.session_retention,
      clock: this.clock,
      logger: this.logger,
      isRunning: () => this.lifecycle === "running",
    });
    const runtime = this;
    this.queue = this.backend.createQueue({
      clock: this.clock,
      logger: this.logger,
      publish: (init) => this.bus.publish(init),
      get accepting() {
        return runtime.lifecycle === "running";
      },
    });
    this.timers = new TimerScheduler({
      clock: this.clock,
      keys: this.keys,
      logger: this.logger,
      get timersPaused() {
        return runtime.paused;
      },
      publish: (init) => void this.bus.publish(init),
      agentActive: (agent, idleSeconds) => {
        const idle = this.queue.idleSeconds(agent);
        return idle !== null && idle < idleSeconds;
      },
      fire: (stream, input) => this.queue.admit(stream, input),
    }, this.backend.ticks(this.clock));
    this.intake = new EventIntake({
      clock: this.clock,
      logger: this.logger,
      ingestLog,
      publish: (init) => this.bus.publish(init),
      admit: (stream, input, admitOptions) => this.queue.admit(stream, input, admitOptions),
      cancel: (executionId, reason) => this.cancel(executionId, reason),
    });
    for (const agent of agents) {
      if (this.agents.has(agent.name)) throw new ForagerError("duplicate_agent", `two agents are named "${agent.name}"; agent names must be unique`);
      this.agents.set(agent.name, { agent, streams: new Map() });
      for (const ep of agent.entry_points) this.registerEntryPoint(ep, agent.name);
    }
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

  get timersPaused(): boolean {
    return this.paused;
  }

  agentNames(): string[] {
    return [...this.agents.keys()];
  }

  /**
   * Adds (or replaces) an entry point. Takes the seed's camelCase spec or
   * the file's snake_case form; `agentName` may be left out with one agent.
   */
  registerEntryPoint(spec: EntryPointSpec | EntryPointFileSpec, agentName?: string): void {
    if (this.lifecycle === "stopping" || this.lifecycle === "stopped") {
      throw new StateError(`cannot register an entry point: the runtime is ${this.lifecycle}`);
    }
    const slot = this.agentSlot(agentName);
    if (!slot) {
      const known = this.agentNames();
      throw new ForagerError(
        "unknown_agent",
        agentName === undefined
          ? `registerEntryPoint needs an agent name: the runtime has ${known.length === 0 ? "no agents" : `several (${known.join(", ")})`}`
          : `no agent named "${agentName}" in this runtime (agents: ${known.join(", ") || "none"})`,
      );
    }
    const ep = resolveEntryPoint(slot.agent, spec);
    const existing = slot.streams.get(ep.id);
    const load = existing && this.queue.counts(existing);
    if (load && (load.active > 0 || load.waiting > 0)) {
      throw new StateError(`cannot replace entry point "${ep.id}" of agent ${slot.agent.name} while it has executions`);
    }
    this.attachStream(slot, ep, "added");
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
    const current = new Map<string, CurrentAgent>();
    for (const [name, slot] of this.agents) {
      current.set(name, { agent: slot.agent, entryPoints: new Map([...slot.streams].map(([id, stream]) => [id, stream.entryPoint])) });
    }
    const plan = planReload(current, agents);
    for (const old of plan.removedAgents) {
      const slot = this.agents.get(old.name)!;
      for (const id of [...slot.streams.keys()]) this.detachStream(slot, id);
      this.agents.delete(old.name);
      this.releaseWhenDone(old);
    }
    for (const { agent, previous, entryPoints, removedEntryPoints } of plan.agents) {
      let slot = this.agents.get(agent.name);
      if (!slot) {
        slot = { agent, streams: new Map() };
        this.agents.set(agent.name, slot);
      }
      slot.agent = agent;
      for (const id of removedEntryPoints) this.detachStream(slot, id);
      for (const { ep, change } of entryPoints) this.attachStream(slot, ep, change);
      if (previous && previous !== agent) this.releaseWhenDone(previous);
    }
    return plan.summary;
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
    const stateAgents = [...this.agents.values()].filter((slot) => slot.agent.entry_points.some(usesState)).map((slot) => slot.agent.name);
    const interrupted = await openStorage({ store: this.store, state: this.stateStore, logger: this.logger }, stateAgents);
    for (const record of interrupted) this.bus.publish(terminalEvent(record));
    await this.retention.runNow();
    // Local: each event is matched to event entry points once, by the process that published it.
    this.unsubscribe = this.bus.subscribe((event) => this.onEvent(event), undefined, { scope: "local" });
    this.queue.start((job, stream, signal) => this.runExecution(job, stream, signal));
    this.startedAtMs = this.clock.now();
    this.lifecycle = "running";
    for (const slot of this.agents.values()) for (const stream of slot.streams.values()) this.publishStream("stream_started", stream);
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
    const stream = this.findStream(request.agent, request.entryPoint);
    this.assertRunning();
    const input = request.input ?? {};
    const schema = stream.entryPoint.input_schema;
    if (schema) {
      const problems = jsonSchemaErrors(schema, input);
      if (problems.length > 0) {
        throw new TriggerError("invalid_input", `input does not match the input_schema of entry point ${stream.key}: ${problems.join("; ")}`, problems);
      }
    }
    const key = request.idempotencyKey;
    const traceparent = request.traceparent;
    if (key === undefined) return this.queue.admit(stream, input, { traceparent, rerunOf: request.rerunOf });
    return admitOnce(
      {
        keys: this.keys,
        nowMs: () => this.clock.now(),
        assertRunning: () => this.assertRunning(),
        admit: (target, admitted, idempotencyKey) => this.queue.admit(target, admitted, { idempotencyKey, traceparent }),
        getExecution: (id) => this.getExecution(id),
      },
      stream,
      input,
      key,
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

  async getExecution(executionId: string): Promise<ExecutionResult | undefined> {
    const job = this.queue.live(executionId);
    if (job) return liveResult(job);
    return this.queue.recent(executionId) ?? (await this.store.get(executionId));
  }

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
    if (typeof options === "number") {
      throw new InvalidOptionError(`waitForCompletion takes an options object, not a number: write { timeoutMs: ${options} } (milliseconds)`);
    }
    checkOptions("waitForCompletion options", options, WAIT_OPTIONS);
    const done = this.queue.settled(executionId);
    if (!done) {
      const known = await this.getExecution(executionId);
      return known && isTerminal(known.status) ? known : undefined;
    }
    const { timeoutMs, signal } = options;
    if (signal?.aborted) throw abortReason(signal);
    // Waits are in real time: they serve callers (HTTP requests, scripts), not schedules.
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await new Promise<ExecutionResult | undefined>((resolve, reject) => {
        done.then(resolve, reject);
        if (timeoutMs !== undefined) timer = setTimeout(() => resolve(undefined), timeoutMs);
        if (signal) {
          onAbort = () => reject(abortReason(signal));
          signal.addEventListener("abort", onAbort, { once: true });
        }
      });
    } finally {
      if (timer) clearTimeout(timer);
      if (signal && onAbort) signal.removeEventListener("abort", onAbort);
    }
  }

  async pauseTimers(): Promise<void> {
    this.paused = true;
  }

  async resumeTimers(): Promise<void> {
    this.paused = false;
  }

  subscribe(handler: EventHandler, filter?: EventFilter, options?: SubscribeOptions): () => void {
    return this.bus.subscribe(handler, filter, options);
  }

  /** SPEC 4.5. Counters only: O(entry points), whatever the history. */
  async getStats(): Promise<RuntimeStats> {
    const streams: RuntimeStats["streams"] = {};
    for (const slot of this.agents.values()) {
      const idle = this.queue.idleSeconds(slot.agent.name);
      for (const stream of slot.streams.values()) streams[stream.key] = stream.stats(idle === null ? null : Math.round(idle * 1000) / 1000);
    }
    const bus = this.bus.stats();
    const totals = this.queue.totals();
    const running = this.lifecycle === "running";
    return {
      running,
      uptime_seconds: this.startedAtMs === 0 || this.lifecycle === "created" ? 0 : Math.round(this.clock.now() - this.startedAtMs) / 1000,
      timers_paused: this.paused,
      active_executions: totals.running,
      queued_executions: totals.queued,
      max_concurrent_executions: this.backend.limiter.max,
      streams,
      timers: this.timers.stats(),
      event_bus: {
        total_events: bus.total_events,
        subscriptions: bus.subscriptions,
        events_by_type: bus.events_by_type,
        dropped_from_history: bus.dropped_from_history,
        subscriber_errors: bus.subscriber_errors,
      },
    };
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
    const step = async (name: string, fn: () => unknown) => {
      try {
        await fn();
      } catch (err) {
        this.logger.error({ err }, `stopping the runtime: ${name} failed`);
      }
    };
    await step("stop timers", () => this.timers.stop());
    await step("cancel queued executions", () => this.queue.cancelAllQueued("shutdown"));
    await step("wait for running executions", () => this.waitForRunning(graceMs));
    await step("cancel running executions", () => Promise.all(this.queue.runningJobs().map((job) => this.queue.cancel(job.id, "shutdown"))));
    await step("record cancelled executions", () => this.queue.flushWrites());
    this.retention.disarm();
    await step("finish a retention pass", () => this.retention.idle());
    await step("close function workers, tools and providers", () =>
      this.runner.close((err) => this.logger.error({ err }, "stopping the runtime: closing a function worker, tool resolver or provider failed")),
    );
    for (const slot of this.agents.values()) for (const stream of slot.streams.values()) this.publishStream("stream_stopped", stream);
    await step("drain the event bus", () => this.bus.drain());
    this.unsubscribe?.();
    await step("flush storage", () => this.store.flush());
    await step("close the ingest log", () => this.intake.close());
    // A key store passed in is the caller's to close.
    // A backend passed in is the caller's to close; ours closes only the parts it built.
    if (!this.options.backend) await step("close the backend", () => this.backend.close());
    this.lifecycle = "stopped";
  }

  private async waitForRunning(graceMs: number): Promise<void> {
    const running = this.queue.runningJobs();
    if (running.length === 0 || graceMs <= 0) return;
    // The grace period is real time (a process manager's kill timer does not follow a test clock).
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        Promise.all(running.map((job) => whenDone(job))),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  // ------------------------------------------------------------ internals

  private assertRunning(): void {
    if (this.lifecycle !== "running") {
      throw new TriggerError("not_running", `the runtime is ${this.lifecycle}: it does not accept triggers`);
    }
  }

  private agentSlot(agentName?: string): AgentSlot | undefined {
    if (agentName !== undefined) return this.agents.get(agentName);
    return this.agents.size === 1 ? this.agents.values().next().value : undefined;
  }

  private findStream(agentName: string | undefined, entryPointId: string): EntryPointStream {
    const slot = this.agentSlot(agentName);
    if (!slot) {
      const known = this.agentNames().join(", ") || "none";
      throw new TriggerError(
        "not_found",
        agentName === undefined ? `name an agent: this runtime has several (${known})` : `no agent named "${agentName}" (agents: ${known})`,
      );
    }
    const stream = slot.streams.get(entryPointId);
    if (!stream) {
      throw new TriggerError("not_found", `agent ${slot.agent.name} has no entry point "${entryPointId}" (it has: ${[...slot.streams.keys()].join(", ")})`);
    }
    return stream;
  }

  private onEvent(event: ForagerEvent): void {
    if (event.graph_id && event.execution_id) this.queue.touch(event.graph_id);
    // Published once the final record is saved: the session now counts for retention.
    if (event.graph_id && FINAL_EVENTS.has(event.type)) this.retention.noteFinished(event.graph_id);
    if (this.lifecycle === "running") this.intake.onEvent(event);
  }

  /**
   * Puts an entry point in service. The stream object of a key is reused
   * (also one a reload removed that still drains), so its queue, counters
   * and running executions carry over and the overlap policy sees them.
   */
  private attachStream(slot: AgentSlot, ep: ResolvedEntryPoint, change: "added" | "changed" | "unchanged"): void {
    const key = `${slot.agent.name}/${ep.id}`;
    let stream = this.queue.streamByKey(key);
    if (stream) stream.redefine(slot.agent, ep);
    else {
      stream = new EntryPointStream(slot.agent, ep);
      this.queue.addStream(stream);
    }
    const wasServing = slot.streams.get(ep.id) === stream;
    slot.streams.set(ep.id, stream);
    this.intake.setStream(stream);
    if (ep.trigger_type !== "timer") this.timers.remove(key);
    else if (!wasServing || change !== "unchanged") this.timers.add(stream, { reloaded: wasServing && change === "changed" });
    this.queue.refill(stream);
    if (!wasServing && this.lifecycle === "running") this.publishStream("stream_started", stream);
  }

  /** Takes an entry point out of service: no triggers, timer or events; what it accepted still runs. */
  private detachStream(slot: AgentSlot, id: string): void {
    const stream = slot.streams.get(id);
    if (!stream) return;
    slot.streams.delete(id);
    this.timers.remove(stream.key);
    this.intake.removeStream(stream.key);
    if (this.lifecycle === "running") this.publishStream("stream_stopped", stream);
  }

  /** Closes a replaced definition's tools and provider once the executions accepted with it are done. */
  private releaseWhenDone(agent: Agent): void {
    const pending = this.queue.jobsOf(agent).map((job) => whenDone(job));
    const onError = (err: unknown) => this.logger.error({ err, agent: agent.name }, "closing a replaced definition's tool resolver or provider failed");
    void Promise.all(pending).then(() => this.runner.release(agent, onError));
  }

  private publishStream(type: "stream_started" | "stream_stopped", stream: EntryPointStream): void {
    this.bus.publish({ type, graph_id: stream.agentName, stream_id: stream.id, data: { trigger_type: stream.entryPoint.trigger_type } });
  }

  private runExecution(job: Job, _stream: EntryPointStream, signal: AbortSignal): Promise<ExecutionResult> {
    // Loop protection: the chain in the job data, before the execution publishes anything.
    this.intake.started(job);
    // The definition the execution was accepted with, whatever a reload did since.
    return this.runner.run(executionRequest(job), signal, (status, error, nowMs) => unrunRecord(job, status, error, nowMs));
  }
}
