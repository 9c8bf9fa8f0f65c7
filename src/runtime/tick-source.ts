/**
 * WHEN a timer entry point is due (DISTRIBUTED.md §4.4, step 6). The timer
 * scheduler (timers.ts) decides what a due tick does (watermark, pause, idle,
 * catch-up, firing) and asks a `TickSource` to call it back at the next
 * scheduled time. The in-process source below is one setTimeout per timer
 * on the injected clock; a cluster source (a BullMQ job scheduler firing
 * each tick once across nodes, cluster/ticks.ts) repeats by itself and
 * carries a `ClusterTicks` part: the scheduler then registers each timer
 * once instead of arming every tick, and records ticks in the cluster's
 * ledger instead of this process's key store.
 */
import type { TimerConfig } from "../config/schema.js";
import type { Clock, ClockTimer } from "../util/clock.js";

/** Longest delay one setTimeout accepts; longer waits are done in steps. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface TickSource {
  /**
   * Calls `due(atMs)` once the time `atMs` is reached (at once if it is
   * past). Arming a key again replaces its earlier arming, so a key has at
   * most one pending tick.
   */
  arm(key: string, atMs: number, due: (scheduledAtMs: number) => void): void;
  /** Drops the pending tick of `key`, if any; a `due` already called is not undone. */
  disarm(key: string): void;
  /** Present on a source shared by several processes (cluster/ticks.ts). */
  readonly cluster?: ClusterTicks;
}

/**
 * Where handled ticks are recorded. The local ledger is the runtime's key
 * store (a watermark per timer); the cluster's is Redis, where claiming a
 * tick is atomic across nodes (cluster/timer-ticks.ts).
 */
export interface TimerLedger {
  /** The time of the newest tick handled, if any. */
  readWatermark(key: string): Promise<number | undefined>;
  /**
   * Records the tick at `scheduledAtMs` as handled, before it fires (a crash
   * then never fires it twice). False when it already was handled (by
   * another node, a retried tick job, a catch-up that covered it): the
   * caller does nothing for it. `watermarkMs` (default `scheduledAtMs`) is
   * what the watermark becomes: a catch-up covers ticks up to it.
   */
  claim(key: string, scheduledAtMs: number, watermarkMs?: number): Promise<boolean>;
}

/** A due tick's work; resolves once it is done (a cluster tick job completes then). */
export type TickHandler = (scheduledAtMs: number) => Promise<void>;

/** What a tick source shared by several processes adds (DISTRIBUTED.md §4.4). */
export interface ClusterTicks {
  readonly ledger: TimerLedger;
  /** Cluster-wide pause (`<prefix>:timers:paused`), as last seen by this node. */
  readonly paused: boolean;
  setPaused(paused: boolean): Promise<void>;
  /**
   * Joins the cluster; true when this node starts it (no other node is
   * alive), so it alone runs `run_immediately` and the startup catch-up.
   */
  open(): Promise<boolean>;
  /**
   * Makes `key` fire by the shared schedule of `config` (created or changed
   * only when the config differs from the stored one) and calls `due` for
   * each tick this node takes. `anchorMs` anchors a new interval schedule.
   */
  register(key: string, config: TimerConfig, anchorMs: number, due: TickHandler): Promise<void>;
  /** Stops taking `key`'s ticks here; `drop`: the timer is gone from the config, its schedule is removed. */
  unregister(key: string, drop: boolean): Promise<void>;
  /** Starts taking ticks (after every timer is registered). */
  run(): Promise<void>;
  /** The next scheduled time of `key` in the shared schedule, as last seen. */
  nextRunAt(key: string): number | null;
  /** Records a fired or skipped tick in the cluster's timer counters. */
  count(key: string, outcome: "fired" | "skipped", n: number, firedAtMs?: number): void;
  /** Leaves the cluster; the schedules stay for the other nodes. */
  close(): Promise<void>;
}

/** Builds the tick source of one runtime, on that runtime's clock (backend.ts). */
export type TickSourceFactory = (clock: Clock) => TickSource;

/** The in-process tick source: a timer per key on the clock (FakeClock in tests). */
export class ClockTickSource implements TickSource {
  private readonly pending = new Map<string, ClockTimer>();

  constructor(private readonly clock: Clock) {}

  arm(key: string, atMs: number, due: (scheduledAtMs: number) => void): void {
    this.disarm(key);
    const delay = Math.min(Math.max(0, atMs - this.clock.now()), MAX_TIMEOUT_MS);
    const handle = this.clock.setTimeout(() => {
      if (this.pending.get(key) !== handle) return;
      this.pending.delete(key);
      // A wait longer than one setTimeout allows is done in steps.
      if (this.clock.now() < atMs) return this.arm(key, atMs, due);
      due(atMs);
    }, delay);
    // A pending tick alone does not keep the process alive.
    handle.unref?.();
    this.pending.set(key, handle);
  }

  disarm(key: string): void {
    const handle = this.pending.get(key);
    if (!handle) return;
    this.clock.clearTimeout(handle);
    this.pending.delete(key);
  }

  /** Keys with a pending tick. */
  get armed(): string[] {
    return [...this.pending.keys()];
  }
}
