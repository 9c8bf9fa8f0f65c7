/** A JSON logger for tests that keeps each line it writes, parsed, to read back. */
import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/logging/index.js";

export function jsonLogger(level: "debug" | "info" | "warn" | "error" = "info"): { logger: Logger; logs: Record<string, unknown>[] } {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    format: "json",
    level,
    destination: new Writable({
      write: (chunk, _e, cb) => {
        for (const line of String(chunk).split("\n")) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    }),
  });
  return { logger, logs };
}
