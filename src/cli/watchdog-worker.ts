/**
 * Runs in a worker thread next to `forager run`. JavaScript cannot
 * interrupt a synchronous loop on the main thread: timeouts, cancellation
 * and signal handlers all need the event loop that the loop is blocking.
 * This thread sleeps outside that event loop; if the run is still going
 * well past its timeout, it says why on stderr and kills the process, so a
 * CI job ends instead of hanging.
 */
import { writeSync } from "node:fs";
import { workerData } from "node:worker_threads";

interface WatchdogData {
  flag: SharedArrayBuffer;
  deadlineMs: number;
  message: string;
}

const data = workerData as WatchdogData;
const flag = new Int32Array(data.flag);
// Wakes early when the main thread stores 1 and notifies: the run ended in time.
const outcome = Atomics.wait(flag, 0, 0, data.deadlineMs);
if (outcome === "timed-out" && Atomics.load(flag, 0) === 0) {
  writeSync(2, data.message + "\n");
  process.kill(process.pid, "SIGKILL");
}
