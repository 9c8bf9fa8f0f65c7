/**
 * A session store that adds fields to every record of one execution it
 * saves. A cluster node uses it so that the executor's records (which know
 * nothing of nodes) carry `attempt`, `attempts` and `node` (SPEC 7, 9);
 * records of other executions and every other call pass through unchanged.
 */
import type { ExecutionRecord, ExecutionResult } from "../../result.js";
import type { SessionStore } from "../../storage/types.js";

export type RecordFields = Pick<ExecutionResult, "attempt" | "attempts" | "node">;

export function withRecordFields(inner: SessionStore, executionId: string, fields: RecordFields): SessionStore {
  const save = (record: ExecutionRecord) => inner.save(record.execution_id === executionId ? { ...record, ...fields } : record);
  // Every other member is the inner store's own, called on the inner store.
  return new Proxy(inner, {
    get(target, property) {
      if (property === "save") return save;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
