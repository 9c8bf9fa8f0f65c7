/**
 * Time comes from a Clock so timers, retention and backoff can be tested
 * with a fake clock and no real waiting.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Like setTimeout; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): ClockTimer;
  /** Cancels a timer from setTimeout; a timer that fired or was cancelled is ignored. */
  clearTimeout(timer: ClockTimer): void;
}

/** The handle Clock.setTimeout returns and clearTimeout takes: a Node timer, or a FakeClock's. */
export interface ClockTimer {
  /** Lets the process exit while this timer is pending (real clock only). */
  unref?(): void;
}

// One setTimeout cannot wait past 2^31-1 ms; longer waits re-arm in steps.
const MAX_TIMEOUT_MS = 2_147_483_647;

/** The real clock: Date.now() and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    return setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMEOUT_MS));
  },
  clearTimeout(timer) {
    clearTimeout(timer as ReturnType<typeof setTimeout>);
  },
};

interface PendingTimer extends ClockTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A manual clock for tests: time moves only when `advance` or `set` is called. */
export class FakeClock implements Clock {
  private current: number;
  private pending: PendingTimer[] = [];
  private seq = 0;

  constructor(start: number | Date = 0) {
    this.current = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const timer: PendingTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.pending.push(timer);
    return timer;
  }

  /** Cancels a pending timer: it will not fire. */
  clearTimeout(timer: ClockTimer): void {
    (timer as PendingTimer).cancelled = true;
    this.pending = this.pending.filter((t) => t !== timer);
  }

  /** Number of timers waiting to fire. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due in order,
   * and letting promise callbacks run between fires.
   */
  async advance(ms: number): Promise<void> {
    await this.set(this.current + ms);
  }

  /** Moves time to `target`, firing every timer that falls due on the way, as `advance` does. */
  async set(target: number | Date): Promise<void> {
    const end = typeof target === "number" ? target : target.getTime();
    for (;;) {
      await flushMicrotasks();
      this.pending.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.pending[0];
      if (!next || next.at > end) break;
      this.pending.shift();
      this.current = Math.max(this.current, next.at);
      if (!next.cancelled) next.fn();
    }
    this.current = Math.max(this.current, end);
    await flushMicrotasks();
  }
}

async function flushMicrotasks(): Promise<void> {
  // A few macrotask turns let chains of awaits (including fs callbacks
  // resolved already) settle before time moves again.
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
