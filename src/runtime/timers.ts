/**
 * The timer scheduler (SPEC 4.1): interval and cron timers on the
 * injectable clock, anchored so they never drift, with pause, idle skips,
 * a persisted watermark for catch-up after downtime, and one
 * `timer_fired` / `timer_skipped` event per tick.
 *
 * Seam: it talks to the runtime only through `TimerHost`, keeps its
 * watermark in a KeyStore, and leaves WHEN a tick is due to a `TickSource`
 * (tick-source.ts): `tick()` is WHAT a due tick does. A distributed source
 * (BullMQ job schedulers firing a cron once across a cluster) can replace
 * the in-process one without touching entry point semantics.
 */
import type { TimerConfig } from "../config/schema.js";
import type { EventInit } from "../events/types.js";
import type { Logger } from "../logging/index.js";
import type { KeyStore } from "../storage/types.js";
import type { Clock } from "../util/clock.js";
import { scheduleFor, type Schedule } from "./schedule.js";
import type { EntryPointStream } from "./stream.js";
import { ClockTickSource, type TickSource } from "./tick-source.js";
import type { TimerStats, TriggerOutcome } from "./types.js";

const WATERMARK_NAMESPACE = "timer_watermark";
/** Watermarks outlive any sensible downtime (a year). */
const WATERMARK_TTL_SECONDS = 365 * 86_400;
/** Counting missed cron ticks stops here (a cron every second over a long outage). */
const MAX_MISSED_COUNT = 100_000;

/** Skip reasons in words for the log line; others (a refusal's reason) are already words. */
const SKIP_WORDS: Record<string, string> = {
  paused: "timers are paused",
  agent_active: "the agent is active (idle_timeout_seconds)",
  missed: "missed while the process was down or stalled",
};

export type TimerFireReason = "scheduled" | "run_immediately" | "catch_up";

/** What the scheduler needs from the runtime. */
export interface TimerHost {
  readonly clock: Clock;
  readonly keys: KeyStore;
  readonly logger: Logger;
  readonly timersPaused: boolean;
  publish(init: EventInit): void;
  /** True while an execution of the agent runs and produced an event less than `idleSeconds` ago. */
  agentActive(agentName: string, idleSeconds: number): boolean;
  fire(stream: EntryPointStream, input: Record<string, unknown>): Promise<TriggerOutcome>;
}

interface TimerEntry {
  stream: EntryPointStream;
  config: TimerConfig;
  schedule?: Schedule;
  nextAtMs: number | null;
  lastFiredAtMs: number | null;
  fired: number;
  skipped: number;
}

export class TimerScheduler {
  private readonly entries = new Map<string, TimerEntry>();
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;

  constructor(
    private readonly host: TimerHost,
    private readonly ticks: TickSource = new ClockTickSource(host.clock),
  ) {}

  /**
   * Adds or replaces the timer of a timer entry point. `reloaded`: the
   * definition changed while serving; the new schedule starts now, with no
   * catch-up and no `run_immediately` (those belong to a process start), and
   * the counters carry over.
   */
  add(stream: EntryPointStream, options: { reloaded?: boolean } = {}): void {
    const ep = stream.entryPoint;
    if (ep.trigger_type !== "timer") return;
    const previous = this.entries.get(stream.key);
    if (previous) this.ticks.disarm(stream.key);
    const entry: TimerEntry = {
      stream,
      config: ep.trigger_config,
      nextAtMs: null,
      lastFiredAtMs: previous?.lastFiredAtMs ?? null,
      fired: previous?.fired ?? 0,
      skipped: previous?.skipped ?? 0,
    };
    this.entries.set(stream.key, entry);
    if (!this.running) return;
    if (options.reloaded) {
      const now = this.host.clock.now();
      entry.schedule = scheduleFor(entry.config, now);
      this.arm(entry, entry.schedule.next(now));
    } else this.track(this.startEntry(entry));
  }

  /** Stops the timer of an entry point (a reload removed it); a tick already under way completes. */
  remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.ticks.disarm(key);
    this.entries.delete(key);
  }

  /**
   * Starts the timers; the host calls it once, at its start. Each timer gets
   * its startup catch-up (ticks missed since its watermark: reported, and
   * with `catch_up: last` the newest fired), then `run_immediately`, then
   * its first tick armed on the TickSource. A timer a reload adds later
   * gets the same in `add()`, since it is new to this process.
   */
  async startWithCatchUp(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await Promise.all([...this.entries.values()].map((entry) => this.startEntry(entry)));
  }

  /** Stops arming timers and waits for ticks in progress. */
  async stop(): Promise<void> {
    this.running = false;
    for (const [key, entry] of this.entries) {
      this.ticks.disarm(key);
      entry.nextAtMs = null;
    }
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  stats(): Record<string, TimerStats> {
    const out: Record<string, TimerStats> = {};
    for (const [key, entry] of this.entries) {
      out[key] = {
        paused: this.host.timersPaused,
        next_run_at: entry.nextAtMs === null ? null : new Date(entry.nextAtMs).toISOString(),
        last_fired_at: entry.lastFiredAtMs === null ? null : new Date(entry.lastFiredAtMs).toISOString(),
        fired: entry.fired,
        skipped: entry.skipped,
      };
    }
    return out;
  }

  private track(work: Promise<void>): void {
    const guarded = work.catch((err: unknown) => this.host.logger.error({ err }, "timer failed"));
    this.inFlight.add(guarded);
    void guarded.finally(() => this.inFlight.delete(guarded));
  }

  private async startEntry(entry: TimerEntry): Promise<void> {
    const now = this.host.clock.now();
    const watermark = await this.readWatermark(entry);
    entry.schedule = scheduleFor(entry.config, watermark ?? now);
    let firedAtStart = false;
    if (watermark !== undefined) {
      const { count, newest } = this.missedTicks(entry.schedule, watermark, now);
      if (count > 0 && newest !== null) {
        const catchUp = entry.config.catch_up === "last";
        entry.skipped += catchUp ? count - 1 : count;
        this.emitSkipped(entry, newest, "missed", { count, catch_up: entry.config.catch_up });
        if (catchUp && this.running) {
          firedAtStart = true;
          await this.fire(entry, newest, "catch_up");
        }
      }
    }
    if (entry.config.run_immediately && !firedAtStart && this.running) {
      await this.fire(entry, now, "run_immediately");
    }
    if (this.running) this.arm(entry, entry.schedule.next(now));
  }

  private missedTicks(schedule: Schedule, afterMs: number, nowMs: number): { count: number; newest: number | null } {
    let count = 0;
    let newest: number | null = null;
    let at = schedule.next(afterMs);
    while (at !== null && at <= nowMs && count < MAX_MISSED_COUNT) {
      count++;
      newest = at;
      at = schedule.next(at);
    }
    return { count, newest };
  }

  private arm(entry: TimerEntry, atMs: number | null): void {
    entry.nextAtMs = atMs;
    if (atMs === null || !this.running) return;
    this.ticks.arm(entry.stream.key, atMs, (scheduledAtMs) => {
      // Stopped, or replaced or removed by a reload.
      if (!this.running || this.entries.get(entry.stream.key) !== entry) return;
      this.track(this.tick(entry.stream.key, scheduledAtMs));
    });
  }

  /**
   * What happens when the tick of `key` scheduled at `scheduledAtMs` is due:
   * ticks missed by a stall are reported, the next one is armed, then this
   * one fires unless paused or the agent is active (watermark first). The
   * TickSource calls it; a timer not started or gone is ignored.
   */
  async tick(key: string, scheduledAtMs: number): Promise<void> {
    const entry = this.entries.get(key);
    if (!this.running || !entry?.schedule) return;
    const schedule = entry.schedule;
    const now = this.host.clock.now();
    // The next tick comes from the schedule, not from when this one's work ends: no drift.
    let next = schedule.next(scheduledAtMs);
    if (next !== null && next <= now) {
      // The process was stalled past whole periods: those ticks are reported, not fired in a burst.
      const { count } = this.missedTicks(schedule, scheduledAtMs, now);
      entry.skipped += count;
      this.emitSkipped(entry, scheduledAtMs, "missed", { count });
      next = schedule.next(now);
    }
    this.arm(entry, next);
    await this.fire(entry, scheduledAtMs, "scheduled");
  }

  private async fire(entry: TimerEntry, scheduledAtMs: number, reason: TimerFireReason): Promise<void> {
    // The watermark goes to disk before the fire: after a crash the tick counts as handled, never fired twice.
    await this.writeWatermark(entry, scheduledAtMs);
    if (this.host.timersPaused) return this.skip(entry, scheduledAtMs, "paused");
    if (this.host.agentActive(entry.stream.agentName, entry.config.idle_timeout_seconds)) {
      return this.skip(entry, scheduledAtMs, "agent_active");
    }
    const firedAtMs = this.host.clock.now();
    const input = {
      event: {
        source: "timer",
        reason,
        scheduled_at: new Date(scheduledAtMs).toISOString(),
        fired_at: new Date(firedAtMs).toISOString(),
      },
    };
    let outcome: TriggerOutcome;
    try {
      outcome = await this.host.fire(entry.stream, input);
    } catch (err) {
      return this.skip(entry, scheduledAtMs, err instanceof Error ? err.message : String(err));
    }
    if (outcome.status === "skipped" || outcome.status === "rejected") {
      return this.skip(entry, scheduledAtMs, outcome.reason);
    }
    entry.fired++;
    entry.lastFiredAtMs = firedAtMs;
    this.host.publish({
      type: "timer_fired",
      graph_id: entry.stream.agentName,
      stream_id: entry.stream.id,
      execution_id: outcome.execution_id,
      session_id: outcome.session_id,
      data: { scheduled_at: input.event.scheduled_at, fired_at: input.event.fired_at, execution_id: outcome.execution_id, reason },
    });
    this.host.logger.info(
      { agent: entry.stream.agentName, entry_point: entry.stream.id, execution_id: outcome.execution_id, scheduled_at: input.event.scheduled_at, reason },
      `timer ${entry.stream.key} fired (${reason}): execution ${outcome.execution_id} ${outcome.status}`,
    );
  }

  private skip(entry: TimerEntry, scheduledAtMs: number, reason: string): void {
    entry.skipped++;
    this.emitSkipped(entry, scheduledAtMs, reason);
  }

  private emitSkipped(entry: TimerEntry, scheduledAtMs: number, reason: string, extra: Record<string, unknown> = {}): void {
    const scheduledAt = new Date(scheduledAtMs).toISOString();
    this.host.logger.info(
      { agent: entry.stream.agentName, entry_point: entry.stream.id, scheduled_at: scheduledAt, reason, ...extra },
      `timer ${entry.stream.key} skipped: ${SKIP_WORDS[reason] ?? reason}${typeof extra.count === "number" ? ` (${extra.count} ticks)` : ""}`,
    );
    this.host.publish({
      type: "timer_skipped",
      graph_id: entry.stream.agentName,
      stream_id: entry.stream.id,
      data: { scheduled_at: new Date(scheduledAtMs).toISOString(), reason, ...extra },
    });
  }

  private async readWatermark(entry: TimerEntry): Promise<number | undefined> {
    const value = await this.host.keys.get(WATERMARK_NAMESPACE, entry.stream.key);
    const ms = value === undefined ? NaN : Date.parse(value);
    return Number.isFinite(ms) ? ms : undefined;
  }

  private async writeWatermark(entry: TimerEntry, scheduledAtMs: number): Promise<void> {
    await this.host.keys.set(WATERMARK_NAMESPACE, entry.stream.key, new Date(scheduledAtMs).toISOString(), WATERMARK_TTL_SECONDS);
  }
}
