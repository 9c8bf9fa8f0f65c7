/**
 * The two parts of the runtime that feed work into the execution queue
 * besides triggers: timers (timers.ts, ticking from the backend's tick
 * source) and the event intake (event-intake.ts: webhooks and event
 * entry points). Built here from the runtime's parts, so the composition
 * root (agent-runtime.ts, through runtime-parts.ts) only says which parts it has.
 */
import type { EventBus } from "../events/bus.js";
import type { Logger } from "../logging/index.js";
import type { Clock } from "../util/clock.js";
import type { RuntimeBackend } from "./backend.js";
import { EventIntake } from "./event-intake.js";
import type { ExecutionQueue } from "./execution-queue.js";
import { TimerScheduler } from "./timers.js";

export interface QueueConsumerParts {
  clock: Clock;
  logger: Logger;
  bus: EventBus;
  backend: RuntimeBackend;
  queue: ExecutionQueue;
  /** The runtime's own pause flag (a cluster tick source keeps its own, cluster-wide). */
  timersPaused(): boolean;
  /** cancel_previous of an event entry point: the runtime's cancel. */
  cancel(executionId: string, reason: string): Promise<unknown>;
}

export function createTimers(parts: QueueConsumerParts): TimerScheduler {
  const { clock, logger, bus, backend, queue } = parts;
  return new TimerScheduler(
    {
      clock,
      keys: backend.keys,
      logger,
      get timersPaused() {
        return parts.timersPaused();
      },
      publish: (init) => void bus.publish(init),
      agentActive: (agent, idleSeconds) => {
        const active = (idle: number | null) => idle !== null && idle < idleSeconds;
        // A shared queue decides from the executions of every live node (one read at tick time).
        if (queue.clusterIdleSeconds && idleSeconds > 0) return queue.clusterIdleSeconds(agent).then(active);
        return active(queue.idleSeconds(agent));
      },
      fire: (stream, input) => queue.admit(stream, input),
    },
    backend.ticks(clock),
  );
}

export function createIntake(parts: QueueConsumerParts): EventIntake {
  const { clock, logger, bus, backend, queue } = parts;
  return new EventIntake({
    clock,
    logger,
    ingestLog: backend.ingestLog,
    publish: (init) => bus.publish(init),
    admit: (stream, input, admitOptions) => queue.admit(stream, input, admitOptions),
    cancel: parts.cancel,
    // A cluster: each event triggers each entry point once, claimed in the shared keys.
    exactlyOnce: backend.cluster ? backend.keys : undefined,
  });
}
