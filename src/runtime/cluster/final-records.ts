/**
 * Final records a cluster node writes for executions the executor did not
 * finish (cancelled while waiting, interrupted after lost workers), and
 * waiting for executions other nodes run (DISTRIBUTED §4.7): every final
 * save is followed by `PUBLISH <prefix>:done <id>`, and a waiter resolves
 * on that message or on a one-second poll of the record (a message can be
 * lost in a reconnect).
 */
import type { Job as BullJob } from "bullmq";
import { terminalEvent } from "../../events/terminal.js";
import { isTerminal, type AttemptRecord, type ExecutionRecord, type ExecutionResult } from "../../result.js";
import type { SessionStore } from "../../storage/types.js";
import type { QueueHost } from "../execution-queue.js";
import type { ResultsCache } from "../results-cache.js";
import type { ClusterChannels } from "./channels.js";
import type { ClusterJobData } from "./job-data.js";

export interface FinalRecordsDeps {
  store: SessionStore;
  host: QueueHost;
  channels: ClusterChannels;
  /** Recently finished results of this node (also what the waits look at first). */
  results: ResultsCache;
  /** runtime.worker_loss.retries, for the message of a worker_lost record. */
  retries: number;
  /** Keeps a write that nobody awaits until shutdown flushes it. */
  track(write: Promise<unknown>): void;
}

export class FinalRecords {
  /** settledElsewhere waiters, by execution id: each checks the record once more. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private closed = false;

  constructor(private readonly deps: FinalRecordsDeps) {}

  /** Saves the final record of an execution the executor did not finish, its terminal event, and tells the cluster. */
  async recordUnrun(record: ExecutionRecord): Promise<void> {
    const { store, host, channels, results } = this.deps;
    const write = (async () => {
      await store.save(record);
      const published = host.publish(terminalEvent(record));
      await store.appendEvents(record.agent, record.session_id, [published]);
      results.add(record);
      await channels.publishDone(record.execution_id);
    })();
    this.deps.track(write);
    await write;
  }

  /** Records `interrupted` (worker_lost) for a job BullMQ failed after more lost workers than worker_loss.retries. */
  async recordLost(bullJob: BullJob): Promise<void> {
    const id = bullJob.id!;
    const record = await this.deps.store.get(id);
    if (!record || isTerminal(record.status)) return;
    // The start that found the job failed counted as one more; hand-backs by stopping nodes were never starts.
    const lost = Math.max(1, (bullJob.attemptsStarted ?? 1) - 1 - ((bullJob.data as ClusterJobData).returned ?? 0));
    const now = this.deps.host.clock.now();
    const startedMs = record.started_at ? Date.parse(record.started_at) : undefined;
    await this.recordUnrun({
      ...record,
      status: "interrupted",
      success: false,
      error: { code: "worker_lost", message: `the node running it was lost ${lost} time(s) (worker_loss.retries: ${this.deps.retries})`, node_id: null },
      finished_at: new Date(now).toISOString(),
      duration_ms: startedMs === undefined ? null : now - startedMs,
      attempts: earlierAttempts(record, lost),
    });
    this.deps.host.logger.warn({ execution_id: id, agent: record.agent }, "execution interrupted: its worker was lost more often than worker_loss.retries allows");
  }

  /** `attempt`, `node` and, on a re-run after a lost worker, the earlier starts (from the record the lost node left). */
  async attemptFields(executionId: string, attempt: number, nodeId: string): Promise<Pick<ExecutionResult, "attempt" | "attempts" | "node">> {
    if (attempt <= 1) return { attempt, node: nodeId };
    const earlier = await this.deps.store.get(executionId).catch(() => undefined);
    return { attempt, node: nodeId, attempts: earlierAttempts(earlier, attempt - 1) };
  }

  /**
   * Resolves with the final record of an execution another node runs, once
   * its `done` message arrives or a one-second poll finds it finished;
   * undefined after `timeoutMs`, when `signal` aborts, or at close.
   */
  settledElsewhere(executionId: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ExecutionResult | undefined> {
    return new Promise((resolve) => {
      let settled = false;
      const checks = this.waiters.get(executionId) ?? new Set<() => void>();
      this.waiters.set(executionId, checks);
      const end = (result: ExecutionResult | undefined) => {
        if (settled) return;
        settled = true;
        clearInterval(poll);
        if (deadline) clearTimeout(deadline);
        options.signal?.removeEventListener("abort", abandon);
        checks.delete(check);
        if (checks.size === 0 && this.waiters.get(executionId) === checks) this.waiters.delete(executionId);
        resolve(result);
      };
      const check = () => {
        const cached = this.deps.results.get(executionId);
        if (cached) return end(cached);
        if (this.closed) return end(undefined);
        void this.deps.store.get(executionId).then(
          (record) => {
            if (record && isTerminal(record.status)) end(record);
          },
          () => undefined,
        );
      };
      const abandon = () => end(undefined);
      checks.add(check);
      const poll = setInterval(check, 1000);
      const deadline = options.timeoutMs === undefined ? undefined : setTimeout(abandon, options.timeoutMs);
      options.signal?.addEventListener("abort", abandon, { once: true });
      check();
    });
  }

  /** A done message (or this node's own finish): the waiters of that execution look again. */
  wake(executionId: string): void {
    for (const check of [...(this.waiters.get(executionId) ?? [])]) check();
  }

  /** Every wait resolves undefined. */
  close(): void {
    this.closed = true;
    for (const id of [...this.waiters.keys()]) this.wake(id);
  }
}

/** The earlier starts of an execution from the record its last lost node left: theirs, then that node's own. */
export function earlierAttempts(record: ExecutionRecord | undefined, lastLost: number): AttemptRecord[] {
  const before = record?.attempts ?? [];
  const last: AttemptRecord = { attempt: record?.attempt ?? lastLost, node: record?.node ?? null, started_at: record?.started_at ?? null, ended: "worker_lost" };
  return [...before.filter((a) => a.attempt < last.attempt), last];
}
