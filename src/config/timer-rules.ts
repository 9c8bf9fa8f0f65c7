/**
 * What makes a timer's `trigger_config` usable, written once: the loader
 * (semantic.ts, with positions) and `registerEntryPoint` (through
 * runtime/schedule.ts) both ask this module, so a config one accepts the
 * other cannot refuse, or the reverse (a cron plus an interval used to pass
 * in code, the cron silently winning).
 */
import { onFirstUse } from "../util/lazy.js";

const croner = onFirstUse<typeof import("croner")>("croner", () => (typeof require === "function" ? require("croner") : undefined));

/** The schedule keys of a timer config. */
export interface TimerSchedule {
  interval_minutes?: number;
  interval_seconds?: number;
  cron?: string;
  timezone?: string;
}

/** One problem, with the `trigger_config` key it is about (none: the config as a whole). */
export interface TimerProblem {
  key?: "cron" | "timezone";
  message: string;
}

/** True when Intl knows the IANA zone. */
export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** undefined when the cron pattern is usable, else croner's reason. */
export function cronProblem(pattern: string, timezone?: string): string | undefined {
  const fields = pattern.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5 && fields.length !== 6) {
    return `expected 5 fields (minute hour day month weekday) or 6 (with seconds first); found ${fields.length}`;
  }
  try {
    new (croner().Cron)(pattern, { paused: true, ...(timezone && isValidTimeZone(timezone) ? { timezone } : {}) }).stop();
    return undefined;
  } catch (err) {
    return (err instanceof Error ? err.message : String(err)).replace(/^CronPattern:\s*/, "");
  }
}

/** Every problem of a timer config: exactly one schedule, a known zone, a cron that parses. */
export function timerProblems(config: TimerSchedule): TimerProblem[] {
  const out: TimerProblem[] = [];
  const set = (["interval_minutes", "interval_seconds", "cron"] as const).filter((k) => config[k] !== undefined);
  if (set.length !== 1) {
    out.push({
      message:
        set.length === 0
          ? "a timer needs one of interval_minutes, interval_seconds or cron; found none"
          : `a timer needs exactly one of interval_minutes, interval_seconds or cron; found ${set.join(" and ")}`,
    });
  }
  if (config.timezone !== undefined && !isValidTimeZone(config.timezone)) {
    out.push({ key: "timezone", message: `unknown time zone '${config.timezone}': expected an IANA name like Europe/Berlin or UTC` });
  }
  if (config.cron !== undefined) {
    const problem = cronProblem(config.cron, config.timezone);
    if (problem) out.push({ key: "cron", message: `invalid cron '${config.cron}': ${problem}` });
  }
  return out;
}
