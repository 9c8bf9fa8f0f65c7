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
import { workerData } from "node:worker_threads";
import {
  FLAG_ABORT,
  FLAG_SENT,
  LEVEL_VALUES,
  deserializeError,
  serializeError,
  type CallFailure,
  type FromWorker,
  type LogLevelName,
  type ToWorker,
  type WorkerSetup,
} from "./function-protocol.js";

type ModuleNamespace = Record<string, unknown>;

const setup = workerData as WorkerSetup;
const port = setup.port;
const flags = new Int32Array(setup.flags);
const modules = new Map<string, Promise<ModuleNamespace>>();
/** The modules that finished loading, so a call to one needs no wait for its import. */
const loaded = new Map<string, ModuleNamespace>();
const nativeAborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "aborted")!.get!;

/**
 * The call running now. Its AbortController (an EventTarget, costly next to
 * a trivial function) is made only when the function reads `signal`; an
 * abort that comes before then is kept and applied at that moment.
 */
class Call {
  private controller?: AbortController;
  private signalSeen?: AbortSignal;
  private reason?: { value: unknown };

  constructor(readonly id: number) {}

  get signal(): AbortSignal {
    if (!this.signalSeen) {
      this.controller = new AbortController();
      this.signalSeen = callSignal(this.id, this.controller);
      if (this.reason) this.controller.abort(this.reason.value);
    }
    return this.signalSeen;
  }

  abort(reason: unknown): void {
    if (this.controller) this.controller.abort(reason);
    else this.reason ??= { value: reason };
  }

  /** Told to stop, by message or by the shared flag. */
  get stopped(): boolean {
    if (this.controller) return nativeAborted.call(this.controller.signal) || Atomics.load(flags, FLAG_ABORT) === this.id;
    return this.reason !== undefined || Atomics.load(flags, FLAG_ABORT) === this.id;
  }
}

let current: Call | undefined;

function send(message: FromWorker): void {
  port.postMessage(message);
  // The pool may be waiting for this message in Atomics.wait rather than in its event loop.
  Atomics.add(flags, FLAG_SENT, 1);
  Atomics.notify(flags, FLAG_SENT);
}

function load(url: string): Promise<ModuleNamespace> {
  let loading = modules.get(url);
  if (!loading) {
    loading = import(url) as Promise<ModuleNamespace>;
    // A failed import is forgotten, so a fixed file loads on the next call.
    loading.then(
      (namespace) => loaded.set(url, namespace),
      () => modules.delete(url),
    );
    modules.set(url, loading);
  }
  return loading;
}

/** A signal whose `aborted` also sees the shared flag, so a synchronous loop that polls it can stop. */
function callSignal(id: number, controller: AbortController): AbortSignal {
  const signal = controller.signal;
  const poll = () => {
    if (!nativeAborted.call(signal) && Atomics.load(flags, FLAG_ABORT) === id) {
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

/** The function's argument: the data from the pool, plus `signal` and `log`, each made on first use. */
function functionArgs(call: Call, message: Extract<ToWorker, { type: "run" }>): Record<string, unknown> {
  const args: Record<string, unknown> = { ...message.args };
  lazyProperty(args, "signal", () => call.signal);
  lazyProperty(args, "log", () => makeLog(call.id, message.minLevel, {}));
  return args;
}

/** An enumerable property made on first read and kept; it can be overwritten like a plain one. */
function lazyProperty(target: Record<string, unknown>, key: string, make: () => unknown): void {
  let made = false;
  let value: unknown;
  Object.defineProperty(target, key, {
    get: () => {
      if (!made) [made, value] = [true, make()];
      return value;
    },
    set: (next: unknown) => {
      [made, value] = [true, next];
    },
    enumerable: true,
    configurable: true,
  });
}

async function run(message: Extract<ToWorker, { type: "run" }>): Promise<void> {
  const { id } = message;
  const call = new Call(id);
  current = call;
  const started = performance.now();
  const fail = (failure: CallFailure) => send({ type: "done", id, ms: performance.now() - started, ok: false, failure });
  try {
    let namespace = loaded.get(message.url);
    if (!namespace) {
      try {
        namespace = await load(message.url);
      } catch (err) {
        return fail({ kind: "load", error: serializeError(err) });
      }
    }
    const fn = namespace[message.exportName];
    if (typeof fn !== "function") {
      return fail({ kind: "export", exported: Object.keys(namespace).filter((name) => typeof namespace[name] === "function") });
    }
    if (call.stopped) return fail({ kind: "aborted" });
    let value: unknown;
    try {
      value = await (fn as (args: unknown) => unknown)(functionArgs(call, message));
    } catch (err) {
      return fail({ kind: "threw", error: serializeError(err) });
    }
    try {
      send({ type: "done", id, ms: performance.now() - started, ok: true, value });
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
    current.abort(typeof message.reason === "string" ? message.reason : deserializeError(message.reason));
  }
});
