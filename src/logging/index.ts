/**
 * Logging (SPEC section 2): newline-delimited JSON on stderr for machines
 * (LOG_FORMAT=json, or ENV=production unless LOG_FORMAT=human), readable
 * pino-pretty lines for people otherwise. Context travels in child loggers.
 */
import { createRequire } from "node:module";
import type pinoFactory from "pino";
import type { Logger as PinoLogger, DestinationStream } from "pino";
import { onFirstUse } from "../util/lazy.js";
import { REDACT_PATHS, REDACTED, scrubSecrets } from "./redact.js";
import { colorEnabled, isLogLevel, LOG_LEVELS, resolveLogFormat, resolveLogLevel, type LogFormat, type LogLevel } from "./levels.js";
import { checkOptions, InvalidOptionError } from "../errors.js";

/** forager's logger: a pino logger (child loggers carry context). */
export type Logger = PinoLogger;
export { LOG_LEVELS, colorEnabled, isLogLevel, resolveLogFormat, resolveLogLevel, type LogFormat, type LogLevel } from "./levels.js";
export { registerSecret, holdSecretsWhile, secretCount, scrubSecrets, isSecretName, clearSecrets, SECRET_HEADERS, REDACTED } from "./redact.js";

// Loaded on the first logger made, not when this module is imported.
const pino = onFirstUse<typeof pinoFactory>("pino", () => (typeof require === "function" ? require("pino") : undefined));

/** Options of createLogger; every key may be left out. */
export interface LoggerOptions {
  /**
   * "json": newline-delimited JSON; "human": readable lines; "auto" (the
   * default): JSON when LOG_FORMAT=json, or ENV=production unless
   * LOG_FORMAT=human, readable otherwise (read from `env`).
   */
  format?: LogFormat | "auto";
  /** Default: LOG_LEVEL from `env`, else info. */
  level?: LogLevel;
  /** Where lines go; default stderr. */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** Colour for human output; default: stderr is a TTY and NO_COLOR is unset. */
  color?: boolean;
  /** The environment "auto" and the level default read; default process.env. */
  env?: NodeJS.ProcessEnv;
}

const LOGGER_OPTIONS = ["format", "level", "destination", "color", "env"] as const;
const FORMATS = ["json", "human", "auto"];

/** A pino logger writing to stderr (or `destination`), secrets censored; see LoggerOptions. */
export function createLogger(options: LoggerOptions = {}): Logger {
  checkOptions("createLogger options", options, LOGGER_OPTIONS);
  if (options.format !== undefined && !FORMATS.includes(options.format)) {
    throw new InvalidOptionError(`createLogger: format must be one of ${FORMATS.join(", ")}; got ${JSON.stringify(options.format)}`);
  }
  if (options.level !== undefined && !isLogLevel(options.level)) {
    throw new InvalidOptionError(`createLogger: level must be one of ${LOG_LEVELS.join(", ")}; got ${JSON.stringify(options.level)}`);
  }
  const env = options.env ?? process.env;
  const format = options.format === undefined || options.format === "auto" ? resolveLogFormat(env) : options.format;
  const level = options.level ?? resolveLogLevel(env);
  const base = {
    level,
    base: undefined,
    messageKey: "msg",
    timestamp: pino().stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    hooks: { streamWrite: scrubSecrets },
  };
  if (format === "json") {
    const destination = options.destination ?? pino().destination({ fd: 2, sync: true });
    return pino()(base, destination as DestinationStream);
  }
  // pino-pretty is loaded on the first line written, so a run that logs
  // nothing never pays for it, and runs in-process (a worker transport costs
  // start-up time and can lose lines on exit).
  const color = options.color ?? colorEnabled(env);
  const destination = options.destination ?? 2;
  let pretty: DestinationStream | undefined;
  const stream: DestinationStream = {
    write(line: string) {
      if (!pretty) {
        const require = createRequire(import.meta.url);
        const prettyOptions = { colorize: color, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname", singleLine: true };
        if (typeof destination === "number") {
          const build = require("pino-pretty") as (opts: Record<string, unknown>) => DestinationStream;
          pretty = build({ ...prettyOptions, destination, sync: true });
        } else {
          // A stream of our own (the CLI's stderr sink): format in place and
          // write synchronously, so lines keep their order with the CLI's own.
          const { prettyFactory } = require("pino-pretty") as { prettyFactory: (opts: Record<string, unknown>) => (line: string) => string };
          const format = prettyFactory(prettyOptions);
          pretty = { write: (text: string) => void destination.write(format(text)) };
        }
      }
      pretty.write(line);
    },
  };
  return pino()(base, stream);
}

/** A logger that discards everything: the library default. */
export function silentLogger(): Logger {
  return pino()({ level: "silent" });
}
