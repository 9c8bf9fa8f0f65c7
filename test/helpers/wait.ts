/**
 * The one way a test waits for something no event announces (a process
 * gone, a line in a log, a status over HTTP): poll a check, bounded in time.
 * Where an event or a promise exists, await it instead; never sleep and
 * then assert.
 */
export interface WaitOptions {
  /** How long before the test fails; generous, since CI machines are loaded (default 30 s). */
  timeoutMs?: number;
  /** Pause between checks (default 25 ms; use more for checks that cost an HTTP round trip). */
  stepMs?: number;
}

/**
 * Resolves with the check's first value that is neither `undefined` nor
 * `false`; rejects with "timed out after N ms waiting for <what>" when the
 * time is up. The check runs once more at the deadline, so a slow machine
 * cannot miss a condition that became true during the last pause.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 30_000, stepMs = 25 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(stepMs, Math.max(1, deadline - Date.now()))));
  }
}
