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
 *
 * With a cluster source (TickSource.cluster, cluster/ticks.ts) a timer is
 * registered once and the shared schedule repeats by itself; each tick is
 * claimed in the cluster's ledger before it fires, so a tick fires once per
 * cluster; pause is cluster-wide; and the startup catch-up and
 * `run_immediately` run only on the node that starts the cluster. A tick
 * that arrives late or after a gap since the watermark (the whole cluster
 * was down) is handled by `catch_up` as at a start.
 */
import type { TimerConfig } from "../config/schema.js";
import type { EventInit } from "../events/types.js";
import type { Logger } from "../logging/index.js";
import type { KeyStore } from "../storage/types.js";
import type { Clock } from "../util/clock.js";
import { scheduleFor, type Schedule } from "./schedule.js";
import type { EntryPointStream } from "./stream.js";
import { ClockTickSource, type ClusterTicks, type TickSource, type TimerLedger } from "./tick-source.js";
import type { TimerStats, TriggerOutcome } from "./types.js";

const WATERMARK_NAMESPACE = "timer_watermark";
/** Watermarks outlive any sensible downtime (a year). */
const WATERMARK_TTL_SECONDS = 365 * 86_400;
/** Counting missed cron ticks stops here (a cron every second over a long outage). */
const MAX_MISSED_COUNT = 100_000;
/** A cluster tick later than this (or half its period, if longer) means the cluster was down (DISTRIBUTED §4.4). */
const CLUSTER_LATE_MS = 2_000;

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
  /** True while an execution of the agent runs and produced an event less than `idleSeconds` ago (in a cluster: on any live node, read at tick time). */
  agentActive(agentName: string, idleSeconds: number): boolean | Promise<boolean>;
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

/** The local ledger: the watermark in the runtime's key store; every claim succeeds (one process). */
class KeyStoreLedger implements TimerLedger {
  constructor(private readonly keys: KeyStore) {}

  async readWatermark(key: string): Promise<number | undefined> {
    const value = await this.keys.get(WATERMARK_NAMESPACE, key);
    const ms = value === undefined ? NaN : Date.parse(value);
    return Number.isFinite(ms) ? ms : undefined;
  }

  async claim(key: string, scheduledAtMs: number, watermarkMs = scheduledAtMs): Promise<boolean> {
    await this.keys.set(WATERMARK_NAMESPACE, key, new Date(watermarkMs).toISOString(), WATERMARK_TTL_SECONDS);
    return true;
  }
}

export class TimerScheduler {
  private readonly entries = new Map<string, TimerEntry>();
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private readonly cluster: ClusterTicks | undefined;
  private readonly ledger: TimerLedger;

  constructor(
    private readonly host: TimerHost,
    private readonly ticks: TickSource = new ClockTickSource(host.clock),
  ) {
    this.cluster = ticks.cluster;
    this.ledger = this.cluster?.ledger ?? new KeyStoreLedger(host.keys);
  }

  /** Whether ticks are skipped as paused: cluster-wide with a cluster tick source, else the host's. */
  get paused(): boolean {
    return this.cluster ? this.cluster.paused : this.host.timersPaused;
  }

  /** Pauses or resumes every node's timers (a cluster tick source); the host keeps its own flag either way. */
  async setPaused(paused: boolean): Promise<void> {
    await this.cluster?.setPaused(paused);
  }

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
    } else this.track(this.startEntry(entry, true));
  }

  /** Stops the timer of an entry point (a reload removed it); a tick already under way completes. */
  remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.ticks.disarm(key);
    this.entries.delete(key);
    if (this.cluster) this.track(this.cluster.unregister(key, true));
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
    // In a cluster only the node that starts it catches up and runs `run_immediately`.
    const clusterStart = this.cluster ? await this.cluster.open() : true;
    await Promise.all([...this.entries.values()].map((entry) => this.startEntry(entry, clusterStart)));
    await this.cluster?.run();
  }

  /** Stops arming timers and waits for ticks in progress; a cluster's schedules stay for its other nodes. */
  async stop(): Promise<void> {
    // A cluster node first stops taking tick jobs (those under way finish), so none is taken and dropped.
    await this.cluster?.close();
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
      const nextAtMs = this.cluster && this.running ? this.cluster.nextRunAt(key) : entry.nextAtMs;
      out[key] = {
        paused: this.paused,
        next_run_at: nextAtMs === null ? null : new Date(nextAtMs).toISOString(),
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

  /** `catchUp`: this start may fire what was missed and `run_immediately` (false on a node joining a running cluster). */
  private async startEntry(entry: TimerEntry, catchUp: boolean): Promise<void> {
    const now = this.host.clock.now();
    const watermark = await this.ledger.readWatermark(entry.stream.key);
    entry.schedule = scheduleFor(entry.config, watermark ?? now);
    let firedAtStart = false;
    if (watermark !== undefined && catchUp) {
      const { count, newest } = this.missedTicks(entry.schedule, watermark, now);
      if (count > 0 && newest !== null) firedAtStart = await this.catchUp(entry, newest, newest, count);
    }
    if (entry.config.run_immediately && !firedAtStart && catchUp && this.running) {
      await this.fire(entry, now, "run_immediately");
    }
    if (!this.running) return;
    // A cluster schedule is anchored where the scheduler first made it; this node's arming is only its register.
    this.arm(entry, entry.schedule.next(now));
  }

  /**
   * Ticks were missed (downtime): `count` of them, from `firstMs` to
   * `newestMs`. Reported as one `timer_skipped missed`; with `catch_up:
   * last` the newest fires. A cluster claims them all first (the watermark
   * moves to the newest), so no node handles them twice. True when it fired.
   */
  private async catchUp(entry: TimerEntry, firstMs: number, newestMs: number, count: number): Promise<boolean> {
    if (this.cluster && !(await this.ledger.claim(entry.stream.key, firstMs, newestMs))) return false;
    const last = entry.config.catch_up === "last";
    const skipped = last ? count - 1 : count;
    entry.skipped += skipped;
    if (skipped > 0) this.cluster?.count(entry.stream.key, "skipped", skipped);
    this.emitSkipped(entry, newestMs, "missed", { count, catch_up: entry.config.catch_up });
    if (!last || !this.running) return false;
    await this.fire(entry, newestMs, "catch_up", { claimed: Boolean(this.cluster) });
    return true;
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
    if (this.cluster) {
      // The shared schedule repeats by itself: registered once per entry, each tick job awaits its tick.
      const key = entry.stream.key;
      const anchor = this.host.clock.now();
      this.track(
        this.cluster.register(key, entry.config, anchor, async (scheduledAtMs) => {
          if (!this.running || this.entries.get(key) !== entry) return;
          await this.clusterTick(entry, scheduledAtMs);
        }),
      );
      return;
    }
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
    if (this.cluster) return this.clusterTick(entry, scheduledAtMs);
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

  /**
   * A tick of the cluster's shared schedule, taken by this node. On time:
   * claimed, then fired. Late, or after a gap since the watermark (the
   * whole cluster was down; the scheduler fires one overdue tick and drops
   * the rest): every tick missed up to now is handled by `catch_up`, once.
   */
  private async clusterTick(entry: TimerEntry, scheduledAtMs: number): Promise<void> {
    const key = entry.stream.key;
    const now = this.host.clock.now();
    const watermark = await this.ledger.readWatermark(key);
    if (watermark !== undefined && watermark >= scheduledAtMs) return; // covered by a catch-up
    const onSchedule = scheduleFor(entry.config, scheduledAtMs);
    const periodMs = (onSchedule.next(scheduledAtMs) ?? scheduledAtMs) - scheduledAtMs;
    // Ticks the cluster missed before this one (half a period of slack: the scheduler may realign).
    let before = 0;
    let first = scheduledAtMs;
    if (watermark !== undefined) {
      const since = scheduleFor(entry.config, watermark);
      for (let at = since.next(watermark); at !== null && at < scheduledAtMs - periodMs / 2 && before < MAX_MISSED_COUNT; at = since.next(at)) {
        before++;
        if (before === 1) first = at;
      }
    }
    const after = this.missedTicks(onSchedule, scheduledAtMs, now);
    const late = now - scheduledAtMs > Math.max(periodMs / 2, CLUSTER_LATE_MS);
    if (before === 0 && after.count === 0 && !late) return this.fire(entry, scheduledAtMs, "scheduled");
    await this.catchUp(entry, first, after.newest ?? scheduledAtMs, before + 1 + after.count);
  }

  private async fire(entry: TimerEntry, scheduledAtMs: number, reason: TimerFireReason, options: { claimed?: boolean } = {}): Promise<void> {
    // The watermark goes to disk before the fire: after a crash the tick counts as handled, never fired twice.
    if (!options.claimed && !(await this.ledger.claim(entry.stream.key, scheduledAtMs))) return;
    if (this.paused) return this.skip(entry, scheduledAtMs, "paused");
    if (await this.host.agentActive(entry.stream.agentName, entry.config.idle_timeout_seconds)) {
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
    this.cluster?.count(entry.stream.key, "fired", 1, firedAtMs);
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
    this.cluster?.count(entry.stream.key, "skipped", 1);
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
}
