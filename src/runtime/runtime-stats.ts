/**
 * RuntimeStats (SPEC 4.5) from the runtime's parts. Counters only:
 * O(entry points), whatever the history.
 */
import type { EventBus } from "../events/bus.js";
import type { AgentSlot } from "./agent-registry.js";
import type { ExecutionQueue } from "./execution-queue.js";
import type { TimerScheduler } from "./timers.js";
import type { RuntimeStats } from "./types.js";

export interface StatsSources {
  slots: Iterable<AgentSlot>;
  queue: ExecutionQueue;
  bus: EventBus;
  timers: TimerScheduler;
  running: boolean;
  uptimeSeconds: number;
  timersPaused: boolean;
  maxConcurrent: number;
}

export function buildRuntimeStats(sources: StatsSources): RuntimeStats {
  const { queue } = sources;
  const streams: RuntimeStats["streams"] = {};
  for (const slot of sources.slots) {
    const idle = queue.idleSeconds(slot.agent.name);
    for (const stream of slot.streams.values()) streams[stream.key] = stream.stats(idle === null ? null : Math.round(idle * 1000) / 1000);
  }
  const bus = sources.bus.stats();
  const totals = queue.totals();
  return {
    running: sources.running,
    uptime_seconds: sources.uptimeSeconds,
    timers_paused: sources.timersPaused,
    active_executions: totals.running,
    queued_executions: totals.queued,
    max_concurrent_executions: sources.maxConcurrent,
    streams,
    timers: sources.timers.stats(),
    event_bus: {
      total_events: bus.total_events,
      subscriptions: bus.subscriptions,
      events_by_type: bus.events_by_type,
      dropped_from_history: bus.dropped_from_history,
      subscriber_errors: bus.subscriber_errors,
    },
  };
}
