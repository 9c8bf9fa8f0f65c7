/**
 * A logger that makes its pino logger on the first line it would write.
 * A short `forager run` at the default level writes no log line at all, yet
 * evaluating pino and compiling its redaction cost it about 10 ms of start-up
 * (issue 15). Level checks, `level`, `levelVal` and `child()` are answered
 * without pino; a call at a level that is on, or any other use, makes it,
 * and from then on everything goes to it. A child made before that becomes
 * a child of the real logger, with the same bindings, when it first writes.
 */
import type { Logger } from "./index.js";
import { LEVEL_VALUES, type LogLevel } from "./levels.js";
const LINE_METHODS = new Set<string | symbol>(["trace", "debug", "info", "warn", "error", "fatal"]);
const noop = () => {};

/** A Logger at `level` whose pino logger is made by `make` only when it is needed. */
export function lazyLogger(make: () => Logger, level: LogLevel): Logger {
  let real: Logger | undefined;
  const materialize = () => (real ??= make());
  const threshold = LEVEL_VALUES[level];
  // Once made, a daemon's logger is called on hot paths: its methods are bound once, not per call.
  const methods = new Map<string | symbol, unknown>();
  const fromReal = (prop: string | symbol) => {
    if (methods.has(prop)) return methods.get(prop);
    const value = bound(materialize(), prop);
    if (typeof value === "function") methods.set(prop, value);
    return value;
  };
  const stand = {} as Logger;
  return new Proxy(stand, {
    get(_target, prop) {
      if (real) return fromReal(prop);
      if (LINE_METHODS.has(prop)) {
        if (LEVEL_VALUES[prop as LogLevel] < threshold) return noop;
        return fromReal(prop);
      }
      if (prop === "level") return level;
      if (prop === "levelVal") return threshold;
      if (prop === "isLevelEnabled") return (name: string) => (LEVEL_VALUES[name as LogLevel] ?? Infinity) >= threshold;
      if (prop === "child") {
        return (bindings: Record<string, unknown>, options?: unknown) =>
          // A child with options of its own (its own level) is made at once; a plain one stays lazy.
          options === undefined ? lazyLogger(() => materialize().child(bindings), level) : materialize().child(bindings, options as never);
      }
      return fromReal(prop);
    },
    set(_target, prop, value) {
      // pino swaps its level methods when the level changes.
      methods.clear();
      return Reflect.set(materialize(), prop, value);
    },
    has(_target, prop) {
      return Reflect.has(materialize(), prop);
    },
  });
}

function bound(logger: Logger, prop: string | symbol): unknown {
  const value = Reflect.get(logger, prop) as unknown;
  return typeof value === "function" ? value.bind(logger) : value;
}
