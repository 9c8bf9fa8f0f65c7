/**
 * The webhook counters of a whole cluster (SPEC 9: `GET /stats` on any node
 * reports the cluster; DISTRIBUTED.md §4.9, §5): every node adds the
 * deliveries it answered to the hash `<prefix>:webhooks:<source id>`
 * (fields `accepted`, `rejected`, `duplicates` and `status:<HTTP status>`),
 * and a read returns those hashes.
 *
 * Writes are coalesced, never one round trip per request: a count waits in
 * memory and goes out with the others in one pipeline of HINCRBYs at most
 * once per `flushMs` (1 s). A read sends what this node holds in the same
 * pipeline, before its HGETALLs, so the answer includes the request just
 * made. Pipelines go one after the other, so a read never overtakes
 * counts already taken by a flush.
 *
 * Cluster hashes, not per-node ones summed over the live nodes as the bus
 * counters are (cluster-stats.ts `busKey`): an answered delivery is a fact
 * of the cluster, like a finished execution (`<prefix>:stats:<ep>`), so the
 * deliveries of a node that stopped or died stay in the totals, and the
 * Prometheus counters built from them never go down when a node leaves.
 * The bus counters describe the buses alive now. Like the finished counts,
 * the hashes have no TTL.
 *
 * A flush that fails (Redis away) keeps its counts for the next one. If
 * Redis applied the increments but the answer was lost (a timeout), they
 * are counted twice: a counter may run ahead, it never loses a delivery.
 */
import type { Logger } from "../../logging/index.js";
import { RedisLink, redisSettings } from "../../storage/redis/connection.js";

/** Field → count, per source id. */
export type CounterHashes = Record<string, Record<string, number>>;

export interface WebhookCountersOptions {
  logger: Logger;
  /** Longest a count waits in memory before it is written (default 1000 ms). */
  flushMs?: number;
  /** Close the link with `close()` (the link was opened for these counters alone). */
  ownsLink?: boolean;
}

export class ClusterWebhookCounters {
  private pending = new Map<string, Map<string, number>>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The last pipeline sent; the next one waits for it. */
  private tail: Promise<unknown> = Promise.resolve();
  private failing = false;
  private closed = false;

  constructor(
    private readonly link: RedisLink,
    private readonly options: WebhookCountersOptions,
  ) {}

  /** The hash of one source's counters. */
  key(sourceId: string): string {
    return this.link.key("webhooks", sourceId);
  }

  /** Counts `n` more in `field` of `sourceId`: memory only; written by the next flush. */
  add(sourceId: string, field: string, n = 1): void {
    if (this.closed) return;
    this.merge(sourceId, field, n);
    this.schedule();
  }

  /** Writes what waits in memory; a failure is logged and the counts wait for the next flush. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    try {
      await this.send([]);
    } catch {
      // send() logged it and kept the counts.
    }
  }

  /**
   * The cluster's counters of these sources, this node's unwritten counts
   * included (written in the same pipeline). Rejects when Redis does not
   * answer; the unwritten counts are kept.
   */
  async totals(sourceIds: readonly string[]): Promise<CounterHashes> {
    const hashes = await this.send(sourceIds);
    const out: CounterHashes = {};
    sourceIds.forEach((id, i) => {
      const counts: Record<string, number> = {};
      for (const [field, value] of Object.entries(hashes[i] ?? {})) counts[field] = Number(value);
      out[id] = counts;
    });
    return out;
  }

  /** Writes the last counts; `add` does nothing after this. Closes the link when it owns it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.tail;
    await this.flush();
    if (this.options.ownsLink) await this.link.close().catch(() => undefined);
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.flushMs ?? 1_000);
    this.timer.unref?.();
  }

  private merge(sourceId: string, field: string, n: number): void {
    let fields = this.pending.get(sourceId);
    if (!fields) this.pending.set(sourceId, (fields = new Map()));
    fields.set(field, (fields.get(field) ?? 0) + n);
  }

  /** One pipeline: the unwritten counts, then an HGETALL per source to read. */
  private send(reads: readonly string[]): Promise<Record<string, string>[]> {
    const run = this.tail.then(async () => {
      const taken = this.pending;
      this.pending = new Map();
      const increments: [string, string, number][] = [];
      for (const [sourceId, fields] of taken) for (const [field, n] of fields) increments.push([sourceId, field, n]);
      if (increments.length === 0 && reads.length === 0) return [];
      let results: [Error | null, unknown][];
      try {
        const redis = await this.link.commands();
        const batch = redis.pipeline();
        for (const [sourceId, field, n] of increments) batch.hincrby(this.key(sourceId), field, n);
        for (const sourceId of reads) batch.hgetall(this.key(sourceId));
        results = (await batch.exec()) ?? [];
      } catch (err) {
        for (const [sourceId, field, n] of increments) this.merge(sourceId, field, n);
        this.schedule();
        if (!this.failing) this.options.logger.warn({ err }, "could not write the webhook counters to Redis; they wait for the next try");
        this.failing = true;
        throw err;
      }
      let refused = false;
      increments.forEach(([sourceId, field, n], i) => {
        if (!results[i]?.[0]) return;
        this.merge(sourceId, field, n);
        refused = true;
      });
      if (refused) this.schedule();
      if (this.failing) this.options.logger.info("the webhook counters are written to Redis again");
      this.failing = false;
      const hashes: Record<string, string>[] = [];
      for (let i = 0; i < reads.length; i++) {
        const [err, hash] = results[increments.length + i] ?? [null, {}];
        if (err) throw err;
        hashes.push(hash as Record<string, string>);
      }
      return hashes;
    });
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/** Counters on a link of their own (`serve` in redis mode), so they depend on no connection of the runtime's. */
export function openClusterWebhookCounters(
  config: { redis_url?: string; redis_prefix?: string },
  env: NodeJS.ProcessEnv,
  logger: Logger,
): ClusterWebhookCounters {
  return new ClusterWebhookCounters(new RedisLink(redisSettings(config, env)), { logger, ownsLink: true });
}
