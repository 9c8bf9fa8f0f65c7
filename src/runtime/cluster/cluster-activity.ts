/**
 * Agent activity across the cluster, for a timer's `idle_timeout_seconds`
 * (SPEC 4.1, DISTRIBUTED §4.4): a tick is skipped `agent_active` while an
 * execution of the agent runs on ANY live node and produced an event less
 * than the timeout ago, whichever node takes the tick.
 *
 * Data model: the hash `<prefix>:agent:<name>` holds two fields per node,
 * `<node id>:running` (its running executions of the agent) and
 * `<node id>:last` (when one of them last started, ended or produced an
 * event). Per-node fields, not one shared counter: a node killed with
 * SIGKILL never decrements, so a reader counts a node's fields only while
 * that node is live in the membership ZSET `<prefix>:nodes`
 * (nodes-membership.ts). A dead node's count stops mattering once its
 * heartbeat deadline passes (15 s by default); a reader deletes its
 * fields once their last activity is a day old, and the hash expires a day
 * after the last write of any node. A node that stops cleanly deletes its own.
 *
 * Writes are cheap: every change (start, end, event) lands in this node's
 * memory (agent-activity.ts) and is written at most once a second per
 * agent, the latest values in one pipeline (HSET + PEXPIRE): the first
 * change after a quiet second at once, later ones at the end of that
 * second. So the stored `last` is never more than about a second behind.
 * A failed write is logged once and retried a second later; it never
 * fails an execution.
 *
 * Time: `last` is this node's clock (the runtime's Clock, the wall clock
 * in production), and the reader compares it with its own clock, as the
 * one-process check does: nodes are assumed NTP-synchronised, and a skew
 * of milliseconds is nothing beside a timeout in seconds and the one
 * second of coalescing. Liveness is the membership's rule (its deadlines
 * are wall-clock ms).
 */
import type { Logger } from "../../logging/index.js";
import type { RedisLink } from "../../storage/redis/connection.js";
import type { Clock, ClockTimer } from "../../util/clock.js";
import { AgentActivity } from "../agent-activity.js";

/** A node writes an agent's fields at most this often. */
export const ACTIVITY_WRITE_MS = 1_000;
/** The hash lives a day after its last write (DISTRIBUTED §5). */
const HASH_TTL_MS = 86_400_000;
/** A gone node's fields are deleted once their last write is older than this (a node whose heartbeat only lapsed keeps them). */
const STALE_FIELDS_MS = 86_400_000;

export interface ClusterActivityOptions {
  link: RedisLink;
  nodeId: string;
  clock: Clock;
  logger: Logger;
}

interface WriteState {
  /** When this node last wrote the agent's fields (clock ms). */
  writtenAtMs?: number;
  /** The coalesced write at the end of the current second. */
  timer?: ClockTimer;
}

interface NodeFields {
  running: number;
  last: number;
}

export class ClusterActivity {
  private readonly local: AgentActivity;
  private readonly writes = new Map<string, WriteState>();
  /** Agents whose fields are written at the next microtask, in one pipeline. */
  private readonly due = new Set<string>();
  private flushQueued = false;
  private readonly inFlight = new Set<Promise<void>>();
  /** Agents whose hash holds this node's fields (deleted at close). */
  private readonly written = new Set<string>();
  private failing = false;
  private closed = false;

  constructor(private readonly options: ClusterActivityOptions) {
    this.local = new AgentActivity(options.clock);
  }

  started(agent: string): void {
    this.local.started(agent);
    this.changed(agent);
  }

  ended(agent: string): void {
    this.local.ended(agent);
    this.changed(agent);
  }

  /** An event of the agent's execution was seen here (the hot path: memory only, the write is coalesced). */
  touch(agent: string): void {
    if (this.local.touch(agent)) this.changed(agent);
  }

  /** This node's own view (its stats): seconds since its executions of the agent did something; null when none runs here. */
  idleSeconds(agent: string): number | null {
    return this.local.idleSeconds(agent);
  }

  /**
   * The cluster's view, for a timer tick: seconds since the agent's running
   * executions on any live node last did something; null when none runs.
   * One round trip. This node's part comes from its memory (exact); when
   * Redis cannot be read, this node's view alone decides (logged).
   */
  async clusterIdleSeconds(agent: string): Promise<number | null> {
    const mine = this.local.snapshot(agent);
    let running = Math.max(0, mine.running);
    let last = mine.lastActivityMs;
    try {
      const { link } = this.options;
      const redis = await link.commands();
      const key = this.key(agent);
      const results = (await redis.pipeline().hgetall(key).zrangebyscore(link.key("nodes"), Date.now(), "+inf").exec()) ?? [];
      const [hashErr, hash] = results[0] ?? [new Error("no reply")];
      const [nodesErr, ids] = results[1] ?? [new Error("no reply")];
      if (hashErr || nodesErr) throw hashErr ?? nodesErr;
      const live = new Set(ids as string[]);
      const stale: string[] = [];
      const now = this.options.clock.now();
      for (const [node, fields] of parseFields(hash as Record<string, string>)) {
        if (node === this.options.nodeId) continue;
        if (!live.has(node)) {
          if (now - fields.last > STALE_FIELDS_MS) stale.push(`${node}:running`, `${node}:last`);
          continue;
        }
        running += fields.running;
        last = Math.max(last, fields.last);
      }
      if (stale.length > 0) redis.hdel(key, ...stale).catch(() => undefined);
    } catch (err) {
      this.options.logger.warn({ err, agent }, "could not read the cluster's agent activity: this node's own executions decide the idle check");
    }
    if (running === 0) return null;
    return Math.max(0, (this.options.clock.now() - last) / 1000);
  }

  /** Resolves once the writes due now (not those coalesced to the end of the second) are answered or have failed. */
  async settled(): Promise<void> {
    await Promise.resolve();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Stops writing and deletes this node's fields: a node that stops runs nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const state of this.writes.values()) if (state.timer) this.options.clock.clearTimeout(state.timer);
    this.due.clear();
    await this.settled();
    if (this.written.size === 0) return;
    try {
      const redis = await this.options.link.commands();
      const batch = redis.pipeline();
      const node = this.options.nodeId;
      for (const agent of this.written) batch.hdel(this.key(agent), `${node}:running`, `${node}:last`);
      await batch.exec();
    } catch (err) {
      this.options.logger.warn({ err }, "could not remove this node's agent activity (other nodes ignore it once the node is gone)");
    }
  }

  private key(agent: string): string {
    return this.options.link.key("agent", agent);
  }

  /** Asks for the agent's fields to be written: now after a quiet second, else at the end of the current one. */
  private changed(agent: string): void {
    if (this.closed) return;
    let state = this.writes.get(agent);
    if (!state) this.writes.set(agent, (state = {}));
    // A write already coming takes the latest values when it is sent.
    if (state.timer || this.due.has(agent)) return;
    const { clock } = this.options;
    const wait = state.writtenAtMs === undefined ? 0 : state.writtenAtMs + ACTIVITY_WRITE_MS - clock.now();
    if (wait <= 0) {
      this.due.add(agent);
      this.queueFlush();
      return;
    }
    const timer = clock.setTimeout(() => {
      if (state.timer !== timer) return;
      state.timer = undefined;
      this.due.add(agent);
      this.queueFlush();
    }, wait);
    timer.unref?.();
    state.timer = timer;
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // Changes of the same moment (several agents) share one pipeline.
    queueMicrotask(() => {
      this.flushQueued = false;
      if (this.closed || this.due.size === 0) return;
      const agents = [...this.due];
      this.due.clear();
      const write = this.write(agents);
      this.inFlight.add(write);
      void write.finally(() => this.inFlight.delete(write));
    });
  }

  private async write(agents: string[]): Promise<void> {
    const { link, nodeId, clock, logger } = this.options;
    const now = clock.now();
    for (const agent of agents) this.writes.get(agent)!.writtenAtMs = now;
    try {
      const redis = await link.commands();
      const batch = redis.pipeline();
      for (const agent of agents) {
        const { running, lastActivityMs } = this.local.snapshot(agent);
        const key = this.key(agent);
        batch.hset(key, { [`${nodeId}:running`]: Math.max(0, running), [`${nodeId}:last`]: lastActivityMs }).pexpire(key, HASH_TTL_MS);
      }
      const results = (await batch.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
      for (const agent of agents) this.written.add(agent);
      if (this.failing) logger.info({ node: nodeId }, "agent activity is written to Redis again");
      this.failing = false;
    } catch (err) {
      if (!this.failing) logger.warn({ err, node: nodeId }, "could not write this node's agent activity to Redis: other nodes' timers do not see it until a retry succeeds (every second)");
      this.failing = true;
      // Written a second from now (the write time above), with the values of then.
      for (const agent of agents) this.changed(agent);
    }
  }
}

/** `<node id>:running` / `<node id>:last` fields by node (node ids hold `:` themselves: split at the last one). */
function parseFields(hash: Record<string, string>): Map<string, NodeFields> {
  const out = new Map<string, NodeFields>();
  for (const [field, value] of Object.entries(hash ?? {})) {
    const cut = field.lastIndexOf(":");
    if (cut <= 0) continue;
    const node = field.slice(0, cut);
    const what = field.slice(cut + 1);
    let fields = out.get(node);
    if (!fields) out.set(node, (fields = { running: 0, last: 0 }));
    const n = Number(value);
    if (!Number.isFinite(n)) continue;
    if (what === "running") fields.running = Math.max(0, n);
    else if (what === "last") fields.last = n;
  }
  return out;
}
