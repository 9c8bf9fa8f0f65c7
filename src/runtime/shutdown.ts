/**
 * The steps of AgentRuntime.stop() once the runtime is stopping, in order.
 * Every step runs even when another fails; a failure is logged, not thrown.
 */
import type { EventBus } from "../events/bus.js";
import type { Logger } from "../logging/index.js";
import type { SessionStore } from "../storage/types.js";
import type { AgentRegistry } from "./agent-registry.js";
import type { RuntimeBackend } from "./backend.js";
import type { EventIntake } from "./event-intake.js";
import type { ExecutionQueue } from "./execution-queue.js";
import type { ExecutionRunner } from "./execution-runner.js";
import { whenDone } from "./job.js";
import type { RetentionSchedule } from "./retention-schedule.js";
import type { TimerScheduler } from "./timers.js";

export interface ShutdownParts {
  logger: Logger;
  timers: TimerScheduler;
  queue: ExecutionQueue;
  retention: RetentionSchedule;
  runner: ExecutionRunner;
  registry: AgentRegistry;
  bus: EventBus;
  store: SessionStore;
  intake: EventIntake;
  backend: RuntimeBackend;
  /** Whether the backend is ours to close (not passed in by the caller). */
  ownsBackend: boolean;
  /** Called once the bus is drained: the runtime's own subscription ends. */
  unsubscribe?: () => void;
}

export async function shutdown(parts: ShutdownParts, graceMs: number): Promise<void> {
  const { logger, queue, retention } = parts;
  const step = async (name: string, fn: () => unknown) => {
    try {
      await fn();
    } catch (err) {
      logger.error({ err }, `stopping the runtime: ${name} failed`);
    }
  };
  await step("stop timers", () => parts.timers.stop());
  // In a cluster the queued ones stay queued for the other nodes; this node only stops taking work.
  await step("cancel queued executions", () => queue.cancelAllQueued("shutdown"));
  await step("wait for running executions", () => waitForRunning(queue, graceMs));
  await step("cancel running executions", () => Promise.all(queue.runningJobs().map((job) => queue.cancel(job.id, "shutdown"))));
  await step("record cancelled executions", () => queue.flushWrites());
  retention.disarm();
  await step("finish a retention pass", () => retention.idle());
  await step("close function workers, tools and providers", () =>
    parts.runner.close((err) => logger.error({ err }, "stopping the runtime: closing a function worker, tool resolver or provider failed")),
  );
  for (const stream of parts.registry.streams()) parts.registry.publishStream("stream_stopped", stream);
  await step("drain the event bus", () => parts.bus.drain());
  parts.unsubscribe?.();
  await step("flush storage", () => parts.store.flush());
  await step("close the ingest log", () => parts.intake.close());
  // A key store passed in is the caller's to close.
  // A backend passed in is the caller's to close; ours closes only the parts it built.
  if (parts.ownsBackend) await step("close the backend", () => parts.backend.close());
}

async function waitForRunning(queue: ExecutionQueue, graceMs: number): Promise<void> {
  const running = queue.runningJobs();
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
