/**
 * Pending claims on remembered keys (webhook delivery ids, idempotency
 * keys): whoever handles a key first holds it as `pending:<id>` for a short
 * time, makes it final (the event or execution ids, full TTL) once the work
 * is recorded, or releases it if that failed. A copy racing the first polls
 * the key until it is final or gone. Nothing waits on an in-process promise,
 * so the same code holds across processes sharing one KeyStore.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { KeyStore } from "./types.js";

const PENDING_PREFIX = "pending:";
/** How long a claim stays pending at most: a holder that died frees the key after this. */
export const PENDING_CLAIM_SECONDS = 30;
const POLL_STEP_MS = 10;

export function pendingClaim(id: string): string {
  return `${PENDING_PREFIX}${id}`;
}

export function isPending(value: string): boolean {
  return value.startsWith(PENDING_PREFIX);
}

export type ClaimOutcome =
  /** The key is ours, pending: make it final with `settleClaim` or give it up with `releaseClaim`. */
  | { status: "claimed" }
  /** Another copy finished first: its final value. */
  | { status: "final"; value: string }
  /** Another copy still holds the key after the wait: tell the caller to retry later. */
  | { status: "pending" };

/**
 * Claims `key` with `claim` (a `pendingClaim`), or reports who has it. A
 * pending holder is polled every 10 ms for up to `waitMs`: if it finishes,
 * its final value is returned; if it gives up (the key is gone), this call
 * claims the key itself. `pendingSeconds`: how long our own claim stays
 * pending if we die holding it (default PENDING_CLAIM_SECONDS).
 */
export async function claimKey(
  keys: KeyStore,
  namespace: string,
  key: string,
  claim: string,
  waitMs: number,
  pendingSeconds: number = PENDING_CLAIM_SECONDS,
): Promise<ClaimOutcome> {
  const steps = Math.ceil(waitMs / POLL_STEP_MS);
  for (let step = 0; ; step++) {
    const { existing } = await keys.putIfAbsent(namespace, key, claim, pendingSeconds, { transient: true });
    if (existing === undefined) return { status: "claimed" };
    if (!isPending(existing)) return { status: "final", value: existing };
    if (step >= steps) return { status: "pending" };
    // Counted in steps rather than clock time: a test's fake clock cannot stall it.
    await sleep(POLL_STEP_MS);
  }
}

/**
 * Makes our pending claim final with `value` for `ttlSeconds`; durable when
 * it resolves. If the claim expired meanwhile, the key is taken only when
 * nobody else holds it.
 */
export async function settleClaim(keys: KeyStore, namespace: string, key: string, claim: string, value: string, ttlSeconds: number): Promise<void> {
  if (await keys.compareAndSet(namespace, key, claim, value, ttlSeconds)) return;
  await keys.putIfAbsent(namespace, key, value, ttlSeconds);
}

/** Gives up our pending claim (the work was not recorded); another holder's value is left alone. */
export async function releaseClaim(keys: KeyStore, namespace: string, key: string, claim: string): Promise<void> {
  await keys.deleteIfValue(namespace, key, claim);
}
