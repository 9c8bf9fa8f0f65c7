import { abortReason } from "../util/abort.js";
import type { Clock } from "../util/clock.js";

/**
 * Waits `ms` on the given clock (so tests can use a fake one), rejecting
 * with the signal's reason as soon as it aborts. The listener is always removed.
 */
export function waitOnClock(ms: number, clock: Clock, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
