/**
 * Retry timing for real providers: exponential backoff with full jitter,
 * overridden by the server's own Retry-After / retry-after-ms when it sends one.
 * forager retries itself (the AI SDK's retries are off) so every wait is
 * logged, capped, abortable and runs on the injectable clock.
 */

export interface RetryTiming {
  /** First backoff ceiling; doubles every attempt. */
  baseDelayMs: number;
  /** No single wait is longer than this, whatever the server asks. */
  maxDelayMs: number;
  /** Source of jitter in [0, 1). */
  random: () => number;
}

export const DEFAULT_RETRY_TIMING: RetryTiming = {
  baseDelayMs: 500,
  maxDelayMs: 60_000,
  random: Math.random,
};

/** Full jitter: a uniform wait in [0, min(max, base * 2^attempt)]. `attempt` counts from 0. */
export function backoffDelayMs(attempt: number, timing: RetryTiming = DEFAULT_RETRY_TIMING): number {
  const ceiling = Math.min(timing.maxDelayMs, timing.baseDelayMs * 2 ** attempt);
  return Math.floor(timing.random() * ceiling);
}

/**
 * How long the server asked us to wait, in ms, from `retry-after-ms`
 * (OpenAI) or `Retry-After` (seconds or an HTTP date). Undefined when
 * absent or unreadable. Header names are matched case-insensitively.
 */
export function retryAfterMs(headers: Record<string, string> | undefined, now: number): number | undefined {
  if (!headers) return undefined;
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;

  const ms = lower["retry-after-ms"];
  if (ms !== undefined && ms.trim() !== "") {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const after = lower["retry-after"];
  if (after === undefined || after.trim() === "") return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(after);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The wait before retry number `attempt + 1`: the server's wish (capped) or jittered backoff. */
export function retryDelayMs(
  attempt: number,
  serverWishMs: number | undefined,
  timing: RetryTiming = DEFAULT_RETRY_TIMING,
): number {
  if (serverWishMs !== undefined) return Math.min(serverWishMs, timing.maxDelayMs);
  return backoffDelayMs(attempt, timing);
}
