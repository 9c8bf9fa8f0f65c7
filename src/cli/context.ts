/**
 * What every command gets from main.ts: the environment, output channels,
 * log settings and the interrupt signals. Commands never touch `process`
 * directly, so they can be called from tests.
 */
import type { Logger, LogLevel } from "../logging/index.js";

export interface CliContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The command's result: stdout. */
  out(text: string): void;
  /** Human messages and progress: stderr. */
  err(text: string): void;
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
  readStdin(): Promise<string>;
}
