/** Per-route webhook counters for `GET /stats` and `/metrics`. */

export interface WebhookCounts {
  accepted: number;
  rejected: number;
  duplicates: number;
}

export class WebhookStats {
  private readonly counts = new Map<string, WebhookCounts>();
  /** `${source_id}\u0000${http status}` → count, for the metrics endpoint. */
  private readonly byStatus = new Map<string, number>();

  constructor(sourceIds: readonly string[]) {
    for (const id of sourceIds) this.counts.set(id, { accepted: 0, rejected: 0, duplicates: 0 });
  }

  /** Starts counting a route added by a reload (at zero; an existing one keeps its counts). */
  addSource(sourceId: string): void {
    if (!this.counts.has(sourceId)) this.counts.set(sourceId, { accepted: 0, rejected: 0, duplicates: 0 });
  }

  record(sourceId: string, outcome: keyof WebhookCounts, httpStatus: number): void {
    const counts = this.counts.get(sourceId) ?? { accepted: 0, rejected: 0, duplicates: 0 };
    counts[outcome] += 1;
    this.counts.set(sourceId, counts);
    const key = `${sourceId}\u0000${httpStatus}`;
    this.byStatus.set(key, (this.byStatus.get(key) ?? 0) + 1);
  }

  snapshot(): Record<string, WebhookCounts> {
    const out: Record<string, WebhookCounts> = {};
    for (const [id, counts] of this.counts) out[id] = { ...counts };
    return out;
  }

  /** Responses by route and HTTP status. */
  responses(): { source_id: string; status: number; count: number }[] {
    return [...this.byStatus].map(([key, count]) => {
      const [source_id, status] = key.split("\u0000");
      return { source_id: source_id!, status: Number(status), count };
    });
  }
}
