/**
 * Admitting a trigger to the stream it names: the input is checked against
 * the entry point's input_schema, then admitted, once per idempotency key
 * when it has one (idempotency.ts).
 */
import type { ExecutionResult } from "../result.js";
import type { KeyStore } from "../storage/types.js";
import { jsonSchemaErrors } from "../util/json-schema.js";
import type { ExecutionQueue } from "./execution-queue.js";
import { admitOnce } from "./idempotency.js";
import type { EntryPointStream } from "./stream.js";
import { TriggerError, type TriggerOutcome, type TriggerRequest } from "./types.js";

export interface TriggerAdmissionHost {
  queue: ExecutionQueue;
  keys: KeyStore;
  nowMs(): number;
  /** Throws when the runtime no longer accepts triggers. */
  assertRunning(): void;
  getExecution(id: string): Promise<ExecutionResult | undefined>;
}

export async function admitTrigger(host: TriggerAdmissionHost, stream: EntryPointStream, request: TriggerRequest): Promise<TriggerOutcome> {
  const input = request.input ?? {};
  const schema = stream.entryPoint.input_schema;
  if (schema) {
    const problems = jsonSchemaErrors(schema, input);
    if (problems.length > 0) {
      throw new TriggerError("invalid_input", `input does not match the input_schema of entry point ${stream.key}: ${problems.join("; ")}`, problems);
    }
  }
  const key = request.idempotencyKey;
  const traceparent = request.traceparent;
  if (key === undefined) return host.queue.admit(stream, input, { traceparent, rerunOf: request.rerunOf });
  return admitOnce(
    {
      keys: host.keys,
      nowMs: host.nowMs,
      assertRunning: host.assertRunning,
      admit: (target, admitted, idempotencyKey) => host.queue.admit(target, admitted, { idempotencyKey, traceparent }),
      getExecution: host.getExecution,
    },
    stream,
    input,
    key,
  );
}
