/**
 * Idempotent triggers (SPEC 4.1): the same key on the same entry point
 * within 24 h answers with the first execution instead of starting another.
 * Keys live in the KeyStore, so they survive a restart; a key is held as a
 * short pending claim while its first trigger is admitted (claims.ts).
 */
import type { ExecutionResult } from "../result.js";
import { claimKey, pendingClaim, releaseClaim, settleClaim } from "../storage/claims.js";
import type { KeyStore } from "../storage/types.js";
import { newEventId } from "../util/ids.js";
import type { EntryPointStream } from "./stream.js";
import type { TriggerOutcome } from "./types.js";

export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

export interface IdempotencyHost {
  keys: KeyStore;
  nowMs(): number;
  /** Throws when the runtime no longer accepts triggers. */
  assertRunning(): void;
  admit(stream: EntryPointStream, input: Record<string, unknown>, idempotencyKey: string): Promise<TriggerOutcome>;
  getExecution(id: string): Promise<ExecutionResult | undefined>;
}

/** How long a repeat waits for a first trigger still being admitted. */
const CLAIM_WAIT_MS = 2_000;

export async function admitOnce(
  host: IdempotencyHost,
  stream: EntryPointStream,
  input: Record<string, unknown>,
  key: string,
): Promise<TriggerOutcome> {
  const namespace = `idempotency/${stream.key}`;
  // Claim the key first, so two concurrent repeats cannot both start.
  const claim = pendingClaim(newEventId(host.nowMs()));
  const claimed = await claimKey(host.keys, namespace, key, claim, CLAIM_WAIT_MS);
  if (claimed.status === "pending") return { status: "skipped", reason: `a trigger with idempotency key "${key}" is still being admitted` };
  if (claimed.status === "final") return duplicateOutcome(host, claimed.value);
  let outcome: TriggerOutcome;
  try {
    host.assertRunning();
    outcome = await host.admit(stream, input, key);
  } catch (err) {
    await releaseClaim(host.keys, namespace, key, claim);
    throw err;
  }
  if (outcome.status === "skipped" || outcome.status === "rejected") await releaseClaim(host.keys, namespace, key, claim);
  else {
    const value = JSON.stringify({ execution_id: outcome.execution_id, session_id: outcome.session_id });
    await settleClaim(host.keys, namespace, key, claim, value, IDEMPOTENCY_TTL_SECONDS);
  }
  return outcome;
}

async function duplicateOutcome(host: IdempotencyHost, value: string): Promise<TriggerOutcome> {
  const first = JSON.parse(value) as { execution_id: string; session_id: string };
  const current = await host.getExecution(first.execution_id);
  return { status: current?.status ?? "queued", execution_id: first.execution_id, session_id: first.session_id, duplicate: true };
}
