/**
 * Idempotent triggers (SPEC 4.1): the same key on the same entry point
 * within 24 h answers with the first execution instead of starting another.
 * Keys live in the KeyStore, so they survive a restart.
 */
import type { ExecutionResult } from "../result.js";
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

export async function admitOnce(
  host: IdempotencyHost,
  stream: EntryPointStream,
  input: Record<string, unknown>,
  key: string,
): Promise<TriggerOutcome> {
  const namespace = `idempotency/${stream.key}`;
  // Claim the key first, so two concurrent repeats cannot both start.
  const claim = `pending:${newEventId(host.nowMs())}`;
  const { existing } = await host.keys.putIfAbsent(namespace, key, claim, IDEMPOTENCY_TTL_SECONDS);
  if (existing !== undefined) return duplicateOutcome(host, namespace, key, existing);
  let outcome: TriggerOutcome;
  try {
    host.assertRunning();
    outcome = await host.admit(stream, input, key);
  } catch (err) {
    await host.keys.delete(namespace, key);
    throw err;
  }
  if (outcome.status === "skipped" || outcome.status === "rejected") await host.keys.delete(namespace, key);
  else {
    const value = JSON.stringify({ execution_id: outcome.execution_id, session_id: outcome.session_id });
    await host.keys.set(namespace, key, value, IDEMPOTENCY_TTL_SECONDS);
  }
  return outcome;
}

async function duplicateOutcome(host: IdempotencyHost, namespace: string, key: string, value: string): Promise<TriggerOutcome> {
  // A concurrent first trigger may still be admitting: wait briefly for its id.
  for (let i = 0; value.startsWith("pending:") && i < 200; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    value = (await host.keys.get(namespace, key)) ?? value;
  }
  if (value.startsWith("pending:")) return { status: "skipped", reason: `a trigger with idempotency key "${key}" is still being admitted` };
  const first = JSON.parse(value) as { execution_id: string; session_id: string };
  const current = await host.getExecution(first.execution_id);
  return { status: current?.status ?? "queued", execution_id: first.execution_id, session_id: first.session_id, duplicate: true };
}
