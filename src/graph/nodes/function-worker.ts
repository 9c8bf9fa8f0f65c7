/**
 * A worker thread of the function pool: runs one function node call at a
 * time, so a synchronous loop here blocks only this thread, never the
 * daemon. Modules are imported once per worker and cached.
 *
 * Abort comes two ways. An "abort" message aborts the call's signal as soon
 * as this thread's event loop is free. A function stuck in a synchronous
 * loop never lets a message in, but if it polls `signal.aborted` or calls
 * `signal.throwIfAborted()`, those read a flag the main thread sets in
 * shared memory. One that does neither is terminated by the pool.
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  LEVEL_VALUES,
  deserializeError,
  serializeError,
  type CallFailure,
  type FromWorker,
  type LogLevelName,
  type ToWorker,
} from "./function-protocol.js";

type ModuleNamespace = Record<string, unknown>;

const port = parentPort!;
/** Slot 0 holds the id of the call the main thread wants stopped. */
const abortFlag = new Int32Array((workerData as { abortFlag: SharedArrayBuffer }).abortFlag);
const modules = new Map<string, Promise<ModuleNamespace>>();
const nativeAborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "aborted")!.get!;

let current: { id: number; controller: AbortController } | undefined;

function send(message: FromWorker): void {
  port.postMessage(message);
}

function load(url: string): Promise<ModuleNamespace> {
  let loading = modules.get(url);
  if (!loading) {
    loading = import(url) as Promise<ModuleNamespace>;
    // A failed import is forgotten, so a fixed file loads on the next call.
    loading.catch(() => modules.delete(url));
    modules.set(url, loading);
  }
  return loading;
}

/** A signal whose `aborted` also sees the shared flag, so a synchronous loop that polls it can stop. */
function callSignal(id: number, controller: AbortController): AbortSignal {
  const signal = controller.signal;
  const poll = () => {
    if (!nativeAborted.call(signal) && Atomics.load(abortFlag, 0) === id) {
      controller.abort(new DOMException("the function was told to stop (timeout or cancel)", "AbortError"));
    }
  };
  Object.defineProperty(signal, "aborted", {
    get: () => {
      poll();
      return nativeAborted.call(signal) as boolean;
    },
  });
  const throwIfAborted = AbortSignal.prototype.throwIfAborted;
  signal.throwIfAborted = () => {
    poll();
    throwIfAborted.call(signal);
  };
  return signal;
}

/** `log` as the function sees it: pino's level methods and child(), forwarded to the main thread's logger. */
function makeLog(id: number, minLevel: number, bindings: Record<string, unknown>): Record<string, unknown> {
  const log: Record<string, unknown> = {
    child: (more: Record<string, unknown>) => makeLog(id, minLevel, { ...bindings, ...more }),
    isLevelEnabled: (level: LogLevelName) => (LEVEL_VALUES[level] ?? 0) >= minLevel,
  };
  for (const level of Object.keys(LEVEL_VALUES) as LogLevelName[]) {
    log[level] = (...args: unknown[]) => {
      if (LEVEL_VALUES[level] < minLevel) return;
      try {
        send({ type: "log", id, level, bindings, args });
      } catch {
        // Something in the arguments cannot be cloned (a function, a socket): send what JSON keeps of it.
        send({ type: "log", id, level, bindings, args: args.map(plain) });
      }
    };
  }
  return log;
}

function plain(value: unknown): unknown {
  if (value instanceof Error) return serializeError(value);
  try {
    return JSON.parse(JSON.stringify(value) ?? "null") as unknown;
  } catch {
    return String(value);
  }
}

async function run(message: Extract<ToWorker, { type: "run" }>): Promise<void> {
  const { id } = message;
  const controller = new AbortController();
  current = { id, controller };
  const fail = (failure: CallFailure) => send({ type: "done", id, ok: false, failure });
  try {
    let namespace: ModuleNamespace;
    try {
      namespace = await load(message.url);
    } catch (err) {
      return fail({ kind: "load", error: serializeError(err) });
    }
    const fn = namespace[message.exportName];
    if (typeof fn !== "function") {
      return fail({ kind: "export", exported: Object.keys(namespace).filter((name) => typeof namespace[name] === "function") });
    }
    if (nativeAborted.call(controller.signal) || Atomics.load(abortFlag, 0) === id) return fail({ kind: "aborted" });
    let value: unknown;
    try {
      value = await (fn as (args: unknown) => unknown)({
        ...message.args,
        signal: callSignal(id, controller),
        log: makeLog(id, message.minLevel, {}),
      });
    } catch (err) {
      return fail({ kind: "threw", error: serializeError(err) });
    }
    try {
      send({ type: "done", id, ok: true, value });
    } catch (err) {
      fail({ kind: "uncloneable", message: err instanceof Error ? err.message : String(err) });
    }
  } finally {
    if (current?.id === id) current = undefined;
  }
}

port.on("message", (message: ToWorker) => {
  if (message.type === "run") void run(message);
  else if (current?.id === message.id) {
    current.controller.abort(typeof message.reason === "string" ? message.reason : deserializeError(message.reason));
  }
});
