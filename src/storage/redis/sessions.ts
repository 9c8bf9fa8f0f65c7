/**
 * Sessions in Redis (DISTRIBUTED.md 4.7), readable from every node:
 *
 *   <prefix>:exec:<id>             the execution record, JSON; no TTL while
 *                                  unfinished, `maxAgeSeconds` once finished
 *   <prefix>:idx:<agent>           ZSET of execution ids by queued_at (ms)
 *   <prefix>:idx:_all              the same across agents
 *   <prefix>:idx:<agent>:open      queued and running ones (and `_all:open`)
 *   <prefix>:ev:<agent>:<session>  the session's events, a list of JSON;
 *                                  `maxAgeSeconds` once an execution of it ends
 *
 * A save is one MULTI (the record and every index move), so an index entry
 * never points at a record that was not written, and saves of one store
 * reach Redis in call order over its one connection: the last save wins.
 * A record that expired leaves its index entries behind; readers skip them
 * and remove them as they pass. `init` marks nothing interrupted: another
 * node may be running what looks unfinished here (BullMQ's stalled-job
 * check finds executions whose node died).
 */
import type { ForagerEvent } from "../../events/types.js";
import type { Logger } from "../../logging/index.js";
import { isTerminal, type ExecutionRecord } from "../../result.js";
import { systemClock, type Clock } from "../../util/clock.js";
import { isAgentName } from "../../util/ids.js";
import { compareNewestFirst, filterExecutionEvents, isUnfinished, planPrune, sessionLabel, summarize } from "../records.js";
import type { ExecutionSummary, ListQuery, PruneOptions, PruneReport, SessionStore } from "../types.js";
import type { RedisLink } from "./connection.js";
import { StoreLink } from "./store-link.js";
import { withRedis } from "./errors.js";

type Client = import("ioredis").Redis;
type Pipeline = ReturnType<Client["multi"]>;

export interface RedisSessionStoreOptions {
  clock?: Clock;
  logger?: Pick<Logger, "warn">;
  /** How long a finished execution's record and its session's events are kept (session_retention.max_age); none: until pruned. */
  maxAgeSeconds?: number;
  /** close() closes the link (and a fresh one serves later calls). */
  ownsLink?: boolean;
}

/** The index across agents; agent names never start with `_`. */
const ALL = "_all";
/** Ids read per MGET. */
const PAGE = 100;
const FINAL_EVENTS = new Set(["execution_completed", "execution_failed", "execution_cancelled"]);

/** Runs a MULTI and throws its first failed command's error (EXEC itself succeeds when one command fails). */
async function execAll(multi: Pipeline): Promise<unknown[]> {
  const results = await multi.exec();
  if (results === null) throw new Error("a Redis transaction was aborted");
  for (const [err] of results) if (err) throw err;
  return results.map(([, value]) => value);
}

export class RedisSessionStore implements SessionStore {
  private readonly clock: Clock;
  private readonly maxAgeSeconds: number | undefined;
  /** Writes not yet acknowledged, for flush. */
  private readonly pending = new Set<Promise<unknown>>();

  private readonly held: StoreLink;

  constructor(link: RedisLink, options: RedisSessionStoreOptions = {}) {
    this.held = new StoreLink(link, options.ownsLink);
    this.clock = options.clock ?? systemClock;
    const maxAge = options.maxAgeSeconds;
    this.maxAgeSeconds = maxAge !== undefined && Number.isFinite(maxAge) && maxAge > 0 ? Math.ceil(maxAge) : undefined;
  }

  private get link(): RedisLink {
    return this.held.link;
  }

  execKey(executionId: string): string {
    return this.link.key("exec", executionId);
  }

  indexKey(agent: string): string {
    return this.link.key("idx", agent);
  }

  openKey(agent: string): string {
    return this.link.key("idx", agent, "open");
  }

  eventsKey(agent: string, sessionId: string): string {
    return this.link.key("ev", agent, sessionId);
  }

  /** Nothing to prepare, and nothing is marked interrupted: unfinished records may be running on another node. */
  async init(): Promise<ExecutionRecord[]> {
    return [];
  }

  save(record: ExecutionRecord): Promise<void> {
    return this.track(
      withRedis(this.link, "saving an execution record", async (client) => {
        const id = record.execution_id;
        const score = queuedMs(record.queued_at);
        const finished = isTerminal(record.status);
        const multi = client.multi();
        if (finished && this.maxAgeSeconds !== undefined) multi.set(this.execKey(id), JSON.stringify(record), "EX", this.maxAgeSeconds);
        else multi.set(this.execKey(id), JSON.stringify(record));
        for (const agent of [record.agent, ALL]) {
          multi.zadd(this.indexKey(agent), score, id);
          if (isUnfinished(record.status)) multi.zadd(this.openKey(agent), score, id);
          else multi.zrem(this.openKey(agent), id);
        }
        const events = this.eventsKey(record.agent, record.session_id);
        // A session's events outlive its last execution by max_age; while one runs they stay.
        if (!finished) multi.persist(events);
        else if (this.maxAgeSeconds !== undefined) multi.expire(events, this.maxAgeSeconds);
        await execAll(multi);
      }),
    );
  }

  appendEvents(agent: string, sessionId: string, events: readonly ForagerEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    return this.track(
      withRedis(this.link, "appending events", async (client) => {
        const key = this.eventsKey(agent, sessionId);
        const multi = client.multi().rpush(key, ...events.map((e) => JSON.stringify(e)));
        // The final event is appended after the final save: the list made (or
        // kept) by this append gets the finished session's TTL too.
        if (this.maxAgeSeconds !== undefined && events.some((e) => FINAL_EVENTS.has(e.type))) multi.expire(key, this.maxAgeSeconds);
        await execAll(multi);
      }),
    );
  }

  get(executionId: string): Promise<ExecutionRecord | undefined> {
    return withRedis(this.link, "reading an execution record", async (client) => {
      const text = await client.get(this.execKey(executionId));
      return text === null ? undefined : (JSON.parse(text) as ExecutionRecord);
    });
  }

  readEvents(agent: string, sessionId: string, executionId?: string): Promise<ForagerEvent[]> {
    return withRedis(this.link, "reading events", async (client) => {
      const lines = await client.lrange(this.eventsKey(agent, sessionId), 0, -1);
      return filterExecutionEvents(
        lines.map((line) => JSON.parse(line) as ForagerEvent),
        executionId,
      );
    });
  }

  async list(query: ListQuery = {}): Promise<ExecutionSummary[]> {
    if (query.agent !== undefined && !isAgentName(query.agent)) return [];
    const limit = query.limit !== undefined && query.limit >= 0 ? query.limit : Infinity;
    if (limit === 0) return [];
    const agent = query.agent ?? ALL;
    // Queued and running ones have an index of their own: no need to page through history.
    const index = query.status !== undefined && isUnfinished(query.status) ? this.openKey(agent) : this.indexKey(agent);
    const out: ExecutionSummary[] = [];
    await this.scan(index, agent, (record) => {
      if (query.status !== undefined && record.status !== query.status) return true;
      out.push(summarize(record));
      return out.length < limit;
    });
    return out.sort(compareNewestFirst);
  }

  async prune(options: PruneOptions): Promise<PruneReport> {
    const dryRun = Boolean(options.dryRun);
    if (options.agent !== undefined && !isAgentName(options.agent)) return { removed: [], kept: 0, dry_run: dryRun };
    await this.flush();
    const agent = options.agent ?? ALL;
    const summaries: ExecutionSummary[] = [];
    await this.scan(this.indexKey(agent), agent, (record) => {
      summaries.push(summarize(record));
      return true;
    });
    const { remove, kept } = planPrune(summaries, options, this.clock.now());
    if (!dryRun && remove.length > 0) {
      await withRedis(this.link, "pruning sessions", async (client) => {
        for (let i = 0; i < remove.length; i += PAGE) {
          const multi = client.multi();
          for (const group of remove.slice(i, i + PAGE)) {
            for (const id of group.execution_ids) this.unindex(multi, group.agent, [id], true);
            multi.del(this.eventsKey(group.agent, group.session_id));
          }
          await execAll(multi);
        }
      });
    }
    return { removed: remove.map(sessionLabel), kept, dry_run: dryRun };
  }

  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Waits for pending writes, then closes the link if this store owns it. */
  async close(): Promise<void> {
    await this.flush();
    await this.held.close();
  }

  private track<T>(write: Promise<T>): Promise<T> {
    this.pending.add(write);
    const forget = () => this.pending.delete(write);
    write.then(forget, forget);
    return write;
  }

  /** Queues the removal of executions (and their records) from the indexes of `agent` and across agents. */
  private unindex(multi: Pipeline, agent: string, ids: string[], records: boolean): void {
    if (ids.length === 0) return;
    if (records) multi.del(...ids.map((id) => this.execKey(id)));
    for (const a of agent === ALL ? [ALL] : [agent, ALL]) {
      multi.zrem(this.indexKey(a), ...ids);
      multi.zrem(this.openKey(a), ...ids);
    }
  }

  /**
   * Reads the records an index holds, newest first, a page of MGET at a
   * time, until `visit` returns false. Ids whose record has expired are
   * dropped from the index on the way.
   */
  private scan(index: string, agent: string, visit: (record: ExecutionRecord) => boolean): Promise<void> {
    return withRedis(this.link, "listing executions", async (client) => {
      for (let start = 0; ; start += PAGE) {
        const ids = await client.zrevrange(index, start, start + PAGE - 1);
        if (ids.length === 0) return;
        const texts = await client.mget(...ids.map((id) => this.execKey(id)));
        const expired: string[] = [];
        let more = true;
        for (let i = 0; i < ids.length && more; i++) {
          const text = texts[i];
          if (text === null || text === undefined) expired.push(ids[i]!);
          else more = visit(JSON.parse(text) as ExecutionRecord);
        }
        if (expired.length > 0) {
          const multi = client.multi();
          this.unindex(multi, agent, expired, false);
          await execAll(multi);
          // The removed ids shifted the ranks after them.
          start -= expired.length;
        }
        if (!more || ids.length < PAGE) return;
      }
    });
  }
}

/** The index score: queued_at in ms (0 when unreadable, so such records sort last). */
function queuedMs(queuedAt: string): number {
  const ms = Date.parse(queuedAt);
  return Number.isFinite(ms) ? ms : 0;
}
