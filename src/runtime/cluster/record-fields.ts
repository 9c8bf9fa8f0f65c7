/**
 * The session store one cluster execution's records go through: it adds
 * the job's `recordExtra` (`attempt`, `attempts`, `node`: SPEC 7, 9) to
 * every record of that execution, since the executor knows nothing of
 * nodes; and once the node lost the job's lock (`job.lockLost`, another
 * node may run it by now) it drops that execution's record writes, so the
 * aborted attempt never overwrites the next one's record. Records of other
 * executions and every other call pass through unchanged.
 */
import type { ExecutionRecord } from "../../result.js";
import type { SessionStore } from "../../storage/types.js";
import type { Job } from "../job.js";

export function withRecordFields(inner: SessionStore, job: Job): SessionStore {
  const save = async (record: ExecutionRecord): Promise<void> => {
    if (record.execution_id !== job.id) return inner.save(record);
    if (job.lockLost) return;
    return inner.save({ ...record, ...job.recordExtra });
  };
  // Every other member is the inner store's own, called on the inner store.
  return new Proxy(inner, {
    get(target, property) {
      if (property === "save") return save;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
