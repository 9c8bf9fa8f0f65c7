/**
 * Log level and format from the global flags and the environment (SPEC 2).
 * Unknown values and contradicting flags are usage errors, not silently
 * ignored: a typo in LOG_LEVEL must not hide the debug lines someone asked for.
 */
import { UsageError } from "../errors.js";
import { LOG_LEVELS, isLogLevel, type LogFormat, type LogLevel } from "../logging/levels.js";

export interface GlobalFlags {
  logLevel?: string;
  verbose?: boolean;
  quiet?: boolean;
}

const FORMATS: Record<string, LogFormat> = { json: "json", human: "human", pretty: "human", text: "human" };

/** LOG_FORMAT, else ENV=production means json; throws for a value forager does not know. */
export function resolveFormatStrict(env: NodeJS.ProcessEnv): LogFormat {
  const raw = env.LOG_FORMAT?.trim();
  if (raw !== undefined && raw !== "") {
    const format = FORMATS[raw.toLowerCase()];
    if (!format) throw new UsageError(`LOG_FORMAT="${raw}" is not a log format; use json or human`);
    return format;
  }
  return env.ENV?.toLowerCase() === "production" ? "json" : "human";
}

/** The level: --log-level, -v (debug), -q (warn), LOG_LEVEL, else info. */
export function resolveLevelStrict(flags: GlobalFlags, env: NodeJS.ProcessEnv): LogLevel {
  if (flags.verbose && flags.quiet) throw new UsageError("-v/--verbose and -q/--quiet contradict each other; pass one of them");
  if (flags.logLevel) return flags.logLevel as LogLevel;
  if (flags.verbose) return "debug";
  if (flags.quiet) return "warn";
  const raw = env.LOG_LEVEL?.trim();
  if (raw === undefined || raw === "") return "info";
  const level = raw.toLowerCase();
  if (!isLogLevel(level)) throw new UsageError(`LOG_LEVEL="${raw}" is not a log level; use one of: ${LOG_LEVELS.join(", ")}`);
  return level;
}

/** Progress lines are info: shown at info and below, hidden by -q and quieter levels. */
export function showsInfo(level: LogLevel): boolean {
  return level === "trace" || level === "debug" || level === "info";
}
