/**
 * What every command gets from main.ts: the environment, output channels,
 * log settings and the interrupt signals. Commands never touch `process`
 * directly, so they can be called from tests.
 */
import type { Logger, LogFormat, LogLevel } from "../logging/index.js";
import type { LineLevel, StderrSink } from "./stderr.js";

export interface CliContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The command's result: stdout. */
  out(text: string): void;
  /** Human messages: stderr. Lines starting `error:`/`warning:`/`hint:` become JSON objects in JSON log mode. */
  err(text: string): void;
  /**
   * One message on stderr: `error: msg` (then `extra`, then `fields.stack`)
   * for people, one JSON object with `fields` in JSON log mode. With
   * `fields.issue` the human line has no prefix (it starts with file:line:col).
   */
  say(level: LineLevel, msg: string, fields?: Record<string, unknown>, extra?: string): void;
  /** The stderr sink itself, for progress that redraws its line. */
  stderr: StderrSink;
  logFormat: LogFormat;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** Colour on stderr (NO_COLOR and non-TTY turn it off). */
  color: boolean;
  logLevel: LogLevel;
  verbose: boolean;
  /** The process logger, created on first use. */
  logger(): Logger;
  /** Aborts on the first SIGINT or SIGTERM; its reason is "SIGINT" or "SIGTERM". */
  interrupt: AbortSignal;
  /** Aborts on a second signal: stop at once. */
  forceInterrupt: AbortSignal;
  /**
   * Claims SIGHUP for the command (serve reloads on it); returns the undo.
   * A command that claims nothing gets SIGHUP like SIGINT/SIGTERM (an interrupt).
   */
  onHangup(handler: () => void): () => void;
  readStdin(): Promise<string>;
}
