/**
 * The messages between the function pool (main thread) and a function
 * worker. Everything here crosses by structured clone.
 */
import type { MessagePort } from "node:worker_threads";

/**
 * What a worker gets at start: its end of the channel calls travel on, and
 * the memory it shares with the pool, an Int32Array with the slots below.
 */
export interface WorkerSetup {
  port: MessagePort;
  flags: SharedArrayBuffer;
}

/** The id of the call the pool wants stopped: `signal.aborted` reads it, so a synchronous loop can see it. */
export const FLAG_ABORT = 0;
/**
 * How many messages the worker has posted to the pool: bumped (and notified)
 * after each post, so the pool can wait for an answer with `Atomics.wait`
 * and read it with `receiveMessageOnPort` without a turn of its event loop.
 */
export const FLAG_SENT = 1;
export const FLAG_SLOTS = 2;

/** The arguments a function gets, minus `signal` and `log` (rebuilt in the worker). */
export interface FunctionArgs {
  input: unknown;
  memory: Record<string, unknown>;
  state: Record<string, unknown>;
  event: unknown;
  execution: unknown;
}

/** An error as it crosses threads: what is needed to rebuild it on the other side. */
export interface SerializedError {
  name: string;
  /** The thrower's constructor name (`ValidationError`), which `name` often is not. */
  className: string;
  message: string;
  stack?: string;
  code?: string;
}

export type ToWorker =
  | { type: "run"; id: number; url: string; exportName: string; args: FunctionArgs; minLevel: number }
  /** `reason`: the abort reason, a string as given or an Error serialized. */
  | { type: "abort"; id: number; reason: SerializedError | string };

export type FromWorker =
  | { type: "log"; id: number; level: LogLevelName; bindings: Record<string, unknown>; args: unknown[] }
  /** `ms`: how long the call took in the worker, from its message to its answer (scheduling delays left out). */
  | { type: "done"; id: number; ms: number; ok: true; value: unknown }
  | { type: "done"; id: number; ms: number; ok: false; failure: CallFailure };

/** Why a call did not return a value. */
export type CallFailure =
  /** The module could not be imported. */
  | { kind: "load"; error: SerializedError }
  /** The module has no function under the export name; `exported` lists its function exports. */
  | { kind: "export"; exported: string[] }
  /** The function threw (or its promise rejected). */
  | { kind: "threw"; error: SerializedError }
  /** Told to stop before the function was called (while its module loaded). */
  | { kind: "aborted" }
  /** The returned value cannot be structured-cloned. */
  | { kind: "uncloneable"; message: string };

export type LogLevelName = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

/** pino's numeric levels, so the worker can drop lines below the logger's level without a round trip. */
export const LEVEL_VALUES: Record<LogLevelName, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      className: err.constructor?.name || err.name,
      message: err.message,
      stack: err.stack,
      ...(typeof code === "string" ? { code } : {}),
    };
  }
  return { name: "Error", className: typeof err, message: String(err) };
}

/**
 * An Error that carries the original's class name (as its constructor's
 * name, which is what pino's error serializer prints as `type`), name,
 * message, stack and code.
 */
export function deserializeError(data: SerializedError): Error {
  const err = new (errorClass(data.className))(data.message) as Error & { code?: string };
  err.name = data.name;
  if (data.stack !== undefined) err.stack = data.stack;
  if (data.code !== undefined) err.code = data.code;
  return err;
}

const classes = new Map<string, new (message: string) => Error>();

/** A subclass of Error named `name` (one per name, so a busy daemon does not make a class per failure). */
function errorClass(name: string): new (message: string) => Error {
  if (name === "Error" || !/^[A-Za-z_$][\w$]*$/.test(name)) return Error;
  let cls = classes.get(name);
  if (!cls) {
    // A computed key names the class expression after the original one.
    cls = { [name]: class extends Error {} }[name]!;
    if (classes.size < 256) classes.set(name, cls);
  }
  return cls;
}
