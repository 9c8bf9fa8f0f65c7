/**
 * A last resort for `forager run` under a timeout: if the process is still
 * running `graceSeconds` after the timeout (a function node stuck in a
 * synchronous loop blocks every in-process way to stop it), a worker
 * thread kills it (exit status 137) with one line on stderr.
 */
import { Worker } from "node:worker_threads";

export interface Watchdog {
  /** The run ended: stop watching. */
  disarm(): void;
}

export function armWatchdog(timeoutSeconds: number, graceSeconds = 5): Watchdog {
  const flag = new SharedArrayBuffer(4);
  const deadlineMs = Math.ceil((timeoutSeconds + graceSeconds) * 1000);
  const message =
    `error: the execution did not stop within ${graceSeconds}s after its ${timeoutSeconds}s timeout: ` +
    "a function node is blocking the event loop (a synchronous loop cannot be interrupted); forager is killed";
  const worker = new Worker(new URL("./watchdog-worker.js", import.meta.url), {
    workerData: { flag, deadlineMs, message },
  });
  // The watchdog must never be what keeps a finished run alive.
  worker.unref();
  return {
    disarm() {
      const view = new Int32Array(flag);
      Atomics.store(view, 0, 1);
      Atomics.notify(view, 0);
      void worker.terminate();
    },
  };
}
