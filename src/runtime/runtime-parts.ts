/**
 * The parts of one AgentRuntime, built and wired together in the order
 * they depend on each other: the backend (backend.ts), the runner of
 * executions (execution-runner.ts), session retention, the execution
 * queue, timers and event intake (queue-consumers.ts) and the agent
 * registry. agent-runtime.ts holds them and drives their lifecycle; what
 * the parts need of it (is it running, are timers paused, cancel) they
 * reach through the callbacks of RuntimeHost.
 */
import type { RuntimeConfig } from "../config/schema.js";
import type { EventBus } from "../events/bus.js";
import type { Logger } from "../logging/index.js";
import type { Clock } from "../util/clock.js";
import { AgentRegistry } from "./agent-registry.js";
import type { RuntimeBackend } from "./backend.js";
import type { EventIntake } from "./event-intake.js";
import type { ExecutionQueue } from "./execution-queue.js";
import { ExecutionRunner } from "./execution-runner.js";
import { createIntake, createTimers } from "./queue-consumers.js";
import { RetentionSchedule } from "./retention-schedule.js";
import { resolveBackend, type AgentRuntimeOptions } from "./runtime-options.js";
import type { TimerScheduler } from "./timers.js";

/** What the parts are built from: the runtime's options and settings, and what they ask of the runtime. */
export interface RuntimeHost {
  options: AgentRuntimeOptions;
  config: RuntimeConfig;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  /** Whether the runtime is running: only then does the queue accept work and retention run. */
  isRunning(): boolean;
  /** The runtime's own pause flag for timers. */
  timersPaused(): boolean;
  /** The runtime's cancel (an event entry point's cancel_previous). */
  cancel(executionId: string, reason: string): Promise<unknown>;
}

/** The parts an AgentRuntime is made of. */
export interface RuntimeParts {
  /** Sessions, state, keys, ingest log, limiter and mutexes. */
  backend: RuntimeBackend;
  /** Runs each execution; owns the tool resolvers, providers and function workers it builds. */
  runner: ExecutionRunner;
  retention: RetentionSchedule;
  queue: ExecutionQueue;
  timers: TimerScheduler;
  intake: EventIntake;
  /** The agents and their entry point streams (agent-registry.ts). */
  registry: AgentRegistry;
}

/** Builds the parts of a runtime, with no agent registered yet. */
export function buildRuntimeParts(host: RuntimeHost): RuntimeParts {
  const { options, config, bus, clock, logger } = host;
  const backend = resolveBackend(options, config, clock, logger);
  // A cluster: observers (GET /events) see every node's events.
  if (backend.cluster) bus.attachFeed(backend.cluster.feed);
  const runner = new ExecutionRunner({
    bus,
    store: backend.store,
    state: backend.state,
    clock,
    logger,
    execute: options.execute,
    tools: options.tools,
    llm: options.llm,
  });
  const retention = new RetentionSchedule({
    store: backend.store,
    ingestLog: backend.ingestLog,
    policy: config.session_retention,
    clock,
    logger,
    isRunning: () => host.isRunning(),
  });
  const queue = backend.createQueue({
    clock,
    logger,
    publish: (init) => bus.publish(init),
    get accepting() {
      return host.isRunning();
    },
  });
  const consumers = {
    clock,
    logger,
    bus,
    backend,
    queue,
    timersPaused: () => host.timersPaused(),
    cancel: (executionId: string, reason: string) => host.cancel(executionId, reason),
  };
  const timers = createTimers(consumers);
  const intake = createIntake(consumers);
  const registry = new AgentRegistry({ queue, intake, timers, runner, bus, logger, isRunning: () => host.isRunning() });
  return { backend, runner, retention, queue, timers, intake, registry };
}
