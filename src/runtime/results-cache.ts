/**
 * Finished results kept in memory for fast reads (`cache_ttl`,
 * `execution_result_max`). Entries are in finishing order, so eviction
 * only ever looks at the oldest end. Evicted results stay readable from
 * the session store.
 */
import type { ExecutionResult } from "../result.js";

interface Entry {
  result: ExecutionResult;
  atMs: number;
}

export class ResultsCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  add(result: ExecutionResult): void {
    this.entries.delete(result.execution_id);
    this.entries.set(result.execution_id, { result, atMs: this.now() });
    this.evict();
  }

  get(executionId: string): ExecutionResult | undefined {
    const entry = this.entries.get(executionId);
    if (!entry) return undefined;
    if (this.now() - entry.atMs > this.ttlMs) {
      this.evict();
      return undefined;
    }
    return entry.result;
  }

  evict(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const [id, entry] of this.entries) {
      if (this.entries.size > this.max || entry.atMs < cutoff) this.entries.delete(id);
      else break;
    }
  }
}
