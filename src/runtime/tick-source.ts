/**
 * WHEN a timer entry point is due (DISTRIBUTED.md §4.4, step 6). The timer
 * scheduler (timers.ts) decides what a due tick does (watermark, pause, idle,
 * catch-up, firing) and asks a `TickSource` to call it back at the next
 * scheduled time. The in-process source below is one setTimeout per timer
 * on the injected clock; a cluster source (a BullMQ job scheduler firing
 * each tick once across nodes) can replace it without touching the tick.
 */
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
