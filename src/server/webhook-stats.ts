/**
 * Per-route webhook counters for `GET /stats` and `/metrics`. On one
 * process they are this process's. In a cluster (SPEC 9) every count also
 * goes to the cluster's counters in Redis (runtime/cluster/webhook-counters.ts,
 * written coalesced, off the request path), and `totals()` reports those:
 * the deliveries every node answered, on whichever node is asked.
 */
import type { Logger } from "../logging/index.js";
import type { CounterHashes } from "../runtime/cluster/webhook-counters.js";

export interface WebhookCounts {
  accepted: number;
  rejected: number;
  duplicates: number;
}

export interface WebhookResponseCount {
  source_id: string;
  status: number;
  count: number;
}

/** What `/stats` (`webhooks`) and `/metrics` report. */
export interface WebhookTotals {
  counts: Record<string, WebhookCounts>;
  /** Responses by route and HTTP status. */
  responses: WebhookResponseCount[];
}

/** The cluster's counters (ClusterWebhookCounters): `add` stays in memory, `totals` reads Redis. */
export interface SharedWebhookCounters {
  add(sourceId: string, field: string): void;
  totals(sourceIds: readonly string[]): Promise<CounterHashes>;
}

const OUTCOMES: readonly (keyof WebhookCounts)[] = ["accepted", "rejected", "duplicates"];
const STATUS_FIELD = "status:";

export class WebhookStats {
  private readonly counts = new Map<string, WebhookCounts>();
  /** `${source_id}\u0000${http status}` → count, for the metrics endpoint. */
  private readonly byStatus = new Map<string, number>();

  constructor(
    sourceIds: readonly string[],
    private readonly shared?: { counters: SharedWebhookCounters; logger: Logger },
  ) {
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
    if (this.shared) {
      this.shared.counters.add(sourceId, outcome);
      this.shared.counters.add(sourceId, `${STATUS_FIELD}${httpStatus}`);
    }
  }

  /** This process's counters. */
  snapshot(): Record<string, WebhookCounts> {
    const out: Record<string, WebhookCounts> = {};
    for (const [id, counts] of this.counts) out[id] = { ...counts };
    return out;
  }

  /** This process's responses by route and HTTP status. */
  responses(): WebhookResponseCount[] {
    return [...this.byStatus].map(([key, count]) => {
      const [source_id, status] = key.split("\u0000");
      return { source_id: source_id!, status: Number(status), count };
    });
  }

  /**
   * What `/stats` and `/metrics` report: the cluster's counters in a
   * cluster, this process's otherwise. When Redis does not answer, this
   * process's, with a warning (never a rejection); the counts not yet
   * written wait in memory for Redis to come back.
   */
  async totals(): Promise<WebhookTotals> {
    const local = { counts: this.snapshot(), responses: this.responses() };
    if (!this.shared) return local;
    const sourceIds = [...this.counts.keys()];
    let hashes: CounterHashes;
    try {
      hashes = await this.shared.counters.totals(sourceIds);
    } catch (err) {
      this.shared.logger.warn({ err }, "cannot read the cluster's webhook counters from Redis: reporting this node's");
      return local;
    }
    const counts: Record<string, WebhookCounts> = {};
    const responses: WebhookResponseCount[] = [];
    for (const id of sourceIds) {
      const hash = hashes[id] ?? {};
      const own: WebhookCounts = { accepted: 0, rejected: 0, duplicates: 0 };
      for (const outcome of OUTCOMES) own[outcome] = hash[outcome] ?? 0;
      counts[id] = own;
      for (const [field, count] of Object.entries(hash)) {
        if (field.startsWith(STATUS_FIELD)) responses.push({ source_id: id, status: Number(field.slice(STATUS_FIELD.length)), count });
      }
    }
    return { counts, responses };
  }
}
