/**
 * Log format, level and colour from the environment. Kept apart from pino
 * so the CLI can resolve its flags without loading the logger itself.
 */

/** How log lines are written: newline-delimited JSON, or readable lines for people. */
export type LogFormat = "json" | "human";
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
/** The least severe level a logger writes (`LOG_LEVEL`); `silent` writes nothing. */
export type LogLevel = (typeof LOG_LEVELS)[number];
/** pino's number for each level: a logger at one level writes the lines at or above its number. */
export const LEVEL_VALUES: Readonly<Record<LogLevel, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** JSON when LOG_FORMAT=json, or ENV=production unless LOG_FORMAT=human; readable otherwise. */
export function resolveLogFormat(env: NodeJS.ProcessEnv = process.env): LogFormat {
  const explicit = env.LOG_FORMAT?.toLowerCase();
  if (explicit === "json") return "json";
  if (explicit === "human" || explicit === "pretty" || explicit === "text") return "human";
  if (env.ENV?.toLowerCase() === "production") return "json";
  return "human";
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** LOG_LEVEL from the environment, or info. CLI flags are applied by the caller and win. */
export function resolveLogLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const fromEnv = env.LOG_LEVEL?.toLowerCase();
  return fromEnv && isLogLevel(fromEnv) ? fromEnv : "info";
}

export function colorEnabled(env: NodeJS.ProcessEnv = process.env, stream: { isTTY?: boolean } = process.stderr): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return true;
  return Boolean(stream.isTTY);
}
