/**
 * The pool of worker threads that function nodes run in (SPEC 3.2), so a
 * function that blocks cannot stall the daemon, its timers or its HTTP
 * listeners. One call per worker at a time: a runaway call can only take
 * its own thread down.
 *
 * Lazy: no thread starts before the first call. Up to `warmWorkers`
 * (min(4, cores)) stay alive when idle; more are started on demand up to
 * `maxWorkers`, and those extra ones end after `idleMs` without work; past
 * `maxWorkers` calls wait in FIFO order. Workers are unref'd while idle, so
 * they never keep a process alive.
 *
 * On abort (timeout, cancel) the worker is told at once (a message, and a
 * shared flag that `signal.aborted` reads); a call that has not returned
 * within its kill grace has its worker terminated, and the call settles
 * then. So a call always settles within the kill grace of its abort.
 *
 * A call that is the only one in the pool, to a function that took under
 * half of `syncWaitMs` (1 ms) last time, is waited for synchronously for at
 * most that long (function-short-wait.ts); past it, it goes on like any other.
 */
import { availableParallelism } from "node:os";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type { Logger } from "../../logging/index.js";
import { abortReason } from "../../util/abort.js";
import {
  FLAG_ABORT,
  FLAG_SENT,
  FLAG_SLOTS,
  LEVEL_VALUES,
  deserializeError,
  serializeError,
  type CallFailure,
  type FromWorker,
  type FunctionArgs,
  type ToWorker,
  type WorkerSetup,
} from "./function-protocol.js";
import { AnswerTimes, waitForAnswer } from "./function-short-wait.js";

export interface FunctionCall {
  /** file: URL of the module. */
  url: string;
  exportName: string;
  args: FunctionArgs;
  signal: AbortSignal;
  logger: Logger;
  /** After an abort, how long the function has to return before its worker is terminated. */
  killGraceMs: number;
}

/** A call that did not produce a value for a reason other than abort: see `failure`. */
export class FunctionCallError extends Error {
  constructor(
    readonly failure: CallFailure | { kind: "crashed"; error: Error },
    message: string,
  ) {
    super(message);
    this.name = "FunctionCallError";
  }
}

export interface FunctionPoolOptions {
  /** Workers kept alive while idle; default min(4, cores). */
  warmWorkers?: number;
  /** Most workers at once; default max(16, warmWorkers). */
  maxWorkers?: number;
  /** Extra workers (beyond warmWorkers) end after this long without work; default 30 s. */
  idleMs?: number;
  /** The longest the main thread blocks waiting for a quick answer; default 1 ms, 0 turns the short wait off. */
  syncWaitMs?: number;
}

/** How calls got their answers, for benchmarks and tests. */
export interface FunctionPoolStats {
  /** Answered within the short wait, without a turn of the event loop. */
  waited: number;
  /** Tried the short wait, then went on asynchronously. */
  fellBack: number;
  /** Went the asynchronous way from the start. */
  async: number;
}

interface Pending {
  id: number;
  call: FunctionCall;
  /** When it was posted to its worker (performance.now()). */
  postedAt?: number;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  onAbort?: () => void;
  killTimer?: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  /** The pool's end of the channel calls travel on (not the worker's own port, which has no synchronous read). */
  port: MessagePort;
  flags: Int32Array;
  pending?: Pending;
  idleTimer?: NodeJS.Timeout;
  gone: boolean;
}

let nextCallId = 1;

export class FunctionPool {
  private readonly slots = new Set<Slot>();
  private readonly queue: Pending[] = [];
  private readonly warm: number;
  private readonly max: number;
  private readonly idleMs: number;
  private readonly syncWaitMs: number;
  private readonly answerTimes: AnswerTimes;
  /** Calls posted to a worker and not yet over. */
  private busy = 0;
  private closed = false;
  readonly stats: FunctionPoolStats = { waited: 0, fellBack: 0, async: 0 };

  constructor(options: FunctionPoolOptions = {}) {
    this.warm = Math.max(1, options.warmWorkers ?? Math.min(4, availableParallelism()));
    this.max = Math.max(this.warm, options.maxWorkers ?? 16);
    this.idleMs = options.idleMs ?? 30_000;
    this.syncWaitMs = options.syncWaitMs ?? 1;
    this.answerTimes = new AnswerTimes(this.syncWaitMs);
  }

  /** Worker threads alive now (0 until the first call). */
  get size(): number {
    return this.slots.size;
  }

  /**
   * Starts one worker now if none is alive, so its start-up (tens of ms,
   * far more on a loaded machine) overlaps other work: `run` calls it
   * before opening storage when the agent has function nodes.
   */
  prewarm(): void {
    if (this.slots.size === 0 && !this.closed) this.release(this.spawn());
  }

  /** Resolves with the function's return value; rejects with the abort reason, or a FunctionCallError. */
  run(call: FunctionCall): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error("the function pool is closed (the runtime stopped)"));
    if (call.signal.aborted) return Promise.reject(abortReason(call.signal));
    return new Promise((resolve, reject) => {
      const pending: Pending = { id: nextCallId++, call, resolve, reject };
      const slot = this.idleSlot() ?? (this.slots.size < this.max ? this.spawn() : undefined);
      if (slot) return this.assign(slot, pending);
      pending.onAbort = () => {
        const at = this.queue.indexOf(pending);
        if (at >= 0) this.queue.splice(at, 1);
        reject(abortReason(call.signal));
      };
      call.signal.addEventListener("abort", pending.onAbort, { once: true });
      this.queue.push(pending);
    });
  }

  /** Terminates every worker; calls still running or waiting are rejected. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const closing = new Error("the function pool is closed (the runtime stopped)");
    for (const pending of this.queue.splice(0)) this.settle(pending, () => pending.reject(closing));
    await Promise.all([...this.slots].map((slot) => this.retire(slot, closing)));
  }

  private idleSlot(): Slot | undefined {
    for (const slot of this.slots) if (!slot.pending && !slot.gone) return slot;
    return undefined;
  }

  private spawn(): Slot {
    const flags = new SharedArrayBuffer(FLAG_SLOTS * Int32Array.BYTES_PER_ELEMENT);
    const { port1: port, port2 } = new MessageChannel();
    // With source maps turned on by the CLI (-v), traces from the thread point at sources too.
    // Only when the process has no flags of its own: a worker inherits those, and
    // replacing them (under a test runner or tsx) would drop loaders or be refused.
    const execArgv = process.sourceMapsEnabled && process.execArgv.length === 0 ? ["--enable-source-maps"] : undefined;
    const worker = new Worker(workerEntry(), {
      workerData: { port: port2, flags } satisfies WorkerSetup,
      transferList: [port2],
      ...(execArgv ? { execArgv } : {}),
    });
    const slot: Slot = { worker, port, flags: new Int32Array(flags), gone: false };
    worker.unref();
    port.on("message", (message: FromWorker) => this.onMessage(slot, message));
    // The worker, ref'd while it has a call, is what keeps the process alive; the port never does.
    port.unref();
    // An error thrown outside the call (a callback of a timer the function set) ends the thread.
    worker.on("error", (err: Error) => this.onCrash(slot, err));
    worker.on("exit", (code) => this.onCrash(slot, new Error(`the function's worker thread exited with code ${code}`)));
    this.slots.add(slot);
    return slot;
  }

  private assign(slot: Slot, pending: Pending): void {
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    slot.pending = pending;
    const { call } = pending;
    if (pending.onAbort) call.signal.removeEventListener("abort", pending.onAbort);
    pending.onAbort = () => this.abort(slot, pending);
    call.signal.addEventListener("abort", pending.onAbort, { once: true });
    // A worker with work keeps the process alive: a run waiting on it must not exit under it.
    slot.worker.ref();
    const message: ToWorker = {
      type: "run",
      id: pending.id,
      url: call.url,
      exportName: call.exportName,
      args: call.args,
      minLevel: minLevel(call.logger),
    };
    const sentBefore = Atomics.load(slot.flags, FLAG_SENT);
    try {
      slot.port.postMessage(message);
    } catch (err) {
      // Memory or state holding something structured clone refuses: the call cannot start.
      this.release(slot);
      this.settle(pending, () => pending.reject(new FunctionCallError({ kind: "uncloneable", message: String(err) }, `its arguments cannot be passed to the worker: ${String(err)}`)));
      return;
    }
    this.busy++;
    pending.postedAt = performance.now();
    if (call.signal.aborted) this.abort(slot, pending);
    else if (this.worthWaiting(pending)) this.waitBriefly(slot, pending, sentBefore);
    else this.stats.async++;
  }

  /**
   * Only when no other call runs (blocking would hold up their answers) and
   * this function answered within the bound last time.
   */
  private worthWaiting(pending: Pending): boolean {
    return this.syncWaitMs > 0 && this.busy === 1 && this.queue.length === 0 && this.answerTimes.quick(functionKey(pending.call));
  }

  private waitBriefly(slot: Slot, pending: Pending, sentBefore: number): void {
    const answered = waitForAnswer({
      port: slot.port,
      flags: slot.flags,
      sentBefore,
      deadline: pending.postedAt! + this.syncWaitMs,
      deliver: (message) => this.onMessage(slot, message),
      answered: () => slot.pending !== pending,
    });
    if (answered) this.stats.waited++;
    else this.stats.fellBack++;
  }

  private abort(slot: Slot, pending: Pending): void {
    if (slot.pending !== pending || pending.killTimer) return;
    Atomics.store(slot.flags, FLAG_ABORT, pending.id);
    const reason: unknown = pending.call.signal.reason;
    slot.port.postMessage({
      type: "abort",
      id: pending.id,
      reason: typeof reason === "string" ? reason : serializeError(reason),
    } satisfies ToWorker);
    const graceMs = pending.call.killGraceMs;
    pending.killTimer = setTimeout(() => {
      if (slot.pending !== pending) return;
      pending.call.logger.warn(
        { kill_grace_ms: graceMs },
        `the function did not return within ${graceMs / 1000}s after it was told to stop: its worker thread is terminated`,
      );
      void this.retire(slot, abortReason(pending.call.signal));
    }, graceMs);
    pending.killTimer.unref();
  }

  private onMessage(slot: Slot, message: FromWorker): void {
    const pending = slot.pending;
    if (!pending || message.id !== pending.id) return;
    if (message.type === "log") {
      const logger = Object.keys(message.bindings).length > 0 ? pending.call.logger.child(message.bindings) : pending.call.logger;
      (logger[message.level] as (...args: unknown[]) => void)(...message.args);
      return;
    }
    this.answerTimes.record(functionKey(pending.call), message.ms);
    this.release(slot);
    if (message.ok) {
      const value = message.value;
      this.settle(pending, () => pending.resolve(value));
    } else {
      const failure = message.failure;
      const err =
        failure.kind === "threw"
          ? deserializeError(failure.error)
          : failure.kind === "aborted"
            ? abortReason(pending.call.signal)
            : new FunctionCallError(failure, failureMessage(failure));
      this.settle(pending, () => pending.reject(err));
    }
    this.pump();
  }

  /** The slot's call is over: the slot takes the next call, idles, or ends. */
  private release(slot: Slot): void {
    if (slot.pending?.postedAt !== undefined) this.busy--;
    slot.pending = undefined;
    if (slot.gone) return;
    slot.worker.unref();
    if (this.slots.size > this.warm) {
      slot.idleTimer = setTimeout(() => {
        if (!slot.pending && this.slots.size > this.warm) void this.retire(slot, undefined);
      }, this.idleMs);
      slot.idleTimer.unref();
    }
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.idleSlot() ?? (this.slots.size < this.max && !this.closed ? this.spawn() : undefined);
      if (!slot) return;
      this.assign(slot, this.queue.shift()!);
    }
  }

  /** Ends a worker; its call (if any) is rejected with `reason`. */
  private async retire(slot: Slot, reason: unknown): Promise<void> {
    if (slot.gone) return;
    slot.gone = true;
    this.slots.delete(slot);
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    const pending = slot.pending;
    if (pending?.postedAt !== undefined) this.busy--;
    slot.pending = undefined;
    slot.port.close();
    await slot.worker.terminate().catch(() => {});
    if (pending) this.settle(pending, () => pending.reject(reason));
    if (!this.closed) this.pump();
  }

  private onCrash(slot: Slot, err: Error): void {
    if (slot.gone) return;
    const pending = slot.pending;
    const aborted = pending?.call.signal.aborted;
    void this.retire(
      slot,
      aborted ? abortReason(pending!.call.signal) : new FunctionCallError({ kind: "crashed", error: err }, `its worker thread died: ${err.message}`),
    );
  }

  private settle(pending: Pending, settle: () => void): void {
    if (pending.onAbort) pending.call.signal.removeEventListener("abort", pending.onAbort);
    if (pending.killTimer) clearTimeout(pending.killTimer);
    settle();
  }
}

function failureMessage(failure: CallFailure): string {
  switch (failure.kind) {
    case "load":
      return failure.error.message;
    case "export":
      return `no such export (it exports: ${failure.exported.join(", ") || "no functions"})`;
    case "threw":
      return failure.error.message;
    case "aborted":
      return "told to stop before it started";
    case "uncloneable":
      return `it returned a value that cannot be passed back from its worker thread: ${failure.message}`;
  }
}

function functionKey(call: FunctionCall): string {
  return `${call.url}#${call.exportName}`;
}

function minLevel(logger: Logger): number {
  const value = (logger as { levelVal?: number }).levelVal;
  return typeof value === "number" ? value : LEVEL_VALUES.info;
}

/**
 * The worker's entry: the compiled file next to this one. Running from
 * TypeScript source (tests under tsx), the worker registers tsx first:
 * loaders given to the main thread with --import do not reach workers.
 */
function workerEntry(): URL {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new URL("./function-worker.js", here);
  const tsx = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./function-worker.ts", here).href;
  const source = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

let shared: FunctionPool | undefined;

/** A process-wide pool for callers that give the executor none (library use); its idle workers never hold the process. */
export function sharedFunctionPool(): FunctionPool {
  shared ??= new FunctionPool();
  return shared;
}
