/**
 * When a timer fires next, as a pure function of a point in time. croner
 * computes cron times (in the timer's IANA zone) but never owns a
 * setTimeout: the scheduler arms its own timers on the injectable clock.
 */
import type { Cron } from "croner";
import { onFirstUse } from "../util/lazy.js";
import type { TimerConfig } from "../config/schema.js";
import { ForagerError } from "../errors.js";
import { timerProblems } from "../config/timer-rules.js";

const croner = onFirstUse<typeof import("croner")>("croner", () => (typeof require === "function" ? require("croner") : undefined));

export interface Schedule {
  /** The first scheduled time strictly after `afterMs`, or null when there is none. */
  next(afterMs: number): number | null;
  /** Human description for logs and errors. */
  readonly description: string;
}

/**
 * Fixed period, anchored: ticks fall at `anchor + k * period` whatever the
 * work in between took, so a timer never drifts.
 */
export class IntervalSchedule implements Schedule {
  readonly description: string;
  constructor(
    private readonly anchorMs: number,
    private readonly periodMs: number,
  ) {
    this.description = `every ${periodMs / 1000}s`;
  }

  next(afterMs: number): number {
    if (afterMs < this.anchorMs) return this.anchorMs;
    const k = Math.floor((afterMs - this.anchorMs) / this.periodMs) + 1;
    return this.anchorMs + k * this.periodMs;
  }
}

/** Safety net: a pattern whose candidates never match (cannot happen with a valid pattern). */
const MAX_CANDIDATES = 1000;

/**
 * A cron expression (5 or 6 fields) in a time zone. When a local time does
 * not exist (the hour skipped by a DST change) croner moves the run to the
 * next valid instant; forager fires nothing for it instead, so each
 * candidate must really match the pattern in local time. A repeated local
 * hour fires a fixed-time job once (croner's behaviour, kept).
 */
export class CronSchedule implements Schedule {
  readonly description: string;
  private readonly cron: Cron;

  constructor(expression: string, timezone?: string) {
    const fields = expression.trim().split(/\s+/).length;
    if (fields !== 5 && fields !== 6) {
      throw new ForagerError("invalid_cron", `cron "${expression}" has ${fields} fields; expected 5 or 6`);
    }
    try {
      this.cron = new (croner().Cron)(expression, { timezone, paused: true });
      // An unknown zone only shows when a date is computed.
      this.cron.nextRun(new Date(0));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ForagerError("invalid_cron", `cron "${expression}"${timezone ? ` in ${timezone}` : ""} is not valid: ${why}`);
    }
    this.description = `cron "${expression}"${timezone ? ` (${timezone})` : ""}`;
  }

  next(afterMs: number): number | null {
    let from = new Date(afterMs);
    for (let i = 0; i < MAX_CANDIDATES; i++) {
      const candidate = this.cron.nextRun(from);
      if (!candidate) return null;
      if (this.cron.match(candidate)) return candidate.getTime();
      from = candidate;
    }
    return null;
  }
}

/** The schedule of a timer entry point; `anchorMs` anchors intervals (start time or the watermark). */
export function scheduleFor(config: TimerConfig, anchorMs: number): Schedule {
  if (config.cron) return new CronSchedule(config.cron, config.timezone);
  const seconds =
    config.interval_seconds ?? (config.interval_minutes === undefined ? undefined : config.interval_minutes * 60);
  if (seconds === undefined) {
    throw new ForagerError("invalid_timer", "a timer entry point needs interval_minutes, interval_seconds or cron");
  }
  return new IntervalSchedule(anchorMs, Math.max(1, Math.round(seconds * 1000)));
}

/**
 * Checks a timer config without building state, by the loader's rule
 * (config/timer-rules.ts); throws ForagerError naming every problem.
 */
export function checkTimerConfig(config: TimerConfig): void {
  const problems = timerProblems(config);
  if (problems.length > 0) throw new ForagerError("invalid_timer", problems.map((p) => p.message).join("; "));
}
