/**
 * This node's membership of the cluster (DISTRIBUTED.md §4.4, §4.9, §5):
 * - a heartbeat every few seconds in the ZSET `<prefix>:nodes` (member =
 *   node id, score = the time after which it counts as gone) and the hash
 *   `<prefix>:node:<id>` (host, pid, started_at, running), which `/stats`
 *   lists as `nodes`; members past their deadline are pruned by any node;
 * - `<prefix>:cluster:alive`, set NX by the first node of a cluster and
 *   kept alive by every live node: a node that sets it starts the cluster
 *   (it alone runs `run_immediately` and the timers' startup catch-up); the
 *   last node to leave deletes it, and a cluster killed outright lets it
 *   expire after `ttlMs`.
 * Deadlines use this node's clock: a skew far below `ttlMs` is harmless.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { ForagerEvent } from "../../events/types.js";
import type { Logger } from "../../logging/index.js";
import type { RedisLink } from "../../storage/redis/connection.js";

export interface NodeInfo {
  id: string;
  host: string;
  pid: number;
  started_at: string;
  /** Executions running on the node at its last heartbeat. */
  running: number;
}

export interface MembershipOptions {
  nodeId: string;
  logger: Logger;
  /** Heartbeat period (default 5 s). */
  heartbeatMs?: number;
  /** A node silent for this long is gone; also the life of `cluster:alive` (default 15 s). */
  ttlMs?: number;
  /** Called with the cluster-wide pause flag read by each heartbeat. */
  onPaused?: (paused: boolean) => void;
  pausedKey?: string;
}

const FINAL = new Set(["execution_completed", "execution_failed", "execution_cancelled"]);
/** A node's hash outlives its last heartbeat by a day, then goes (DISTRIBUTED §5). */
const NODE_HASH_TTL_MS = 86_400_000;

// KEYS: nodes, node:<id>, cluster:alive. ARGV: id, now. Leaves; deletes `alive` when no live node is left.
const LEAVE_SCRIPT = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[3]) end
return 1
`;

/** A node id: `<hostname>:<pid>:<4 hex>`. */
export function newNodeId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(2).toString("hex")}`;
}

export class NodeMembership {
  readonly nodeId: string;
  readonly host = hostname();
  readonly pid = process.pid;
  readonly startedAt = new Date().toISOString();
  private readonly heartbeatMs: number;
  private readonly ttlMs: number;
  private readonly running = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private joining: Promise<boolean> | undefined;
  private beating: Promise<void> | undefined;
  private left = false;

  constructor(
    private readonly link: RedisLink,
    private readonly options: MembershipOptions,
  ) {
    this.nodeId = options.nodeId;
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
    this.ttlMs = options.ttlMs ?? 15_000;
  }

  /** Follows this node's executions from its own bus events (started, then final), for `running`. */
  observe(event: ForagerEvent): void {
    if (!event.execution_id) return;
    if (event.type === "execution_started") this.running.add(event.execution_id);
    else if (FINAL.has(event.type)) this.running.delete(event.execution_id);
  }

  /** Executions running here now. */
  get runningCount(): number {
    return this.running.size;
  }

  /** Joins (once): true when this node started the cluster. Heartbeats run until `leave()`. */
  join(): Promise<boolean> {
    this.joining ??= (async () => {
      const redis = await this.link.commands();
      const started = await redis.set(this.link.key("cluster", "alive"), this.nodeId, "PX", this.ttlMs, "NX");
      await this.beat();
      this.timer = setInterval(() => void this.beat(), this.heartbeatMs);
      this.timer.unref?.();
      if (started) this.options.logger.info({ node: this.nodeId }, "this node starts the cluster");
      return started === "OK";
    })();
    return this.joining;
  }

  /** One heartbeat; a failure is logged (the next one retries). */
  beat(): Promise<void> {
    if (this.left) return Promise.resolve();
    this.beating ??= this.doBeat().finally(() => (this.beating = undefined));
    return this.beating;
  }

  private async doBeat(): Promise<void> {
    try {
      const redis = await this.link.commands();
      const now = Date.now();
      const nodes = this.link.key("nodes");
      const alive = this.link.key("cluster", "alive");
      const hash = this.link.key("node", this.nodeId);
      const batch = redis
        .multi()
        .zadd(nodes, now + this.ttlMs, this.nodeId)
        .hset(hash, { host: this.host, pid: this.pid, started_at: this.startedAt, running: this.running.size })
        .pexpire(hash, NODE_HASH_TTL_MS)
        .pexpire(this.link.key("node", this.nodeId, "bus"), NODE_HASH_TTL_MS)
        .zremrangebyscore(nodes, "-inf", now)
        .set(alive, this.nodeId, "PX", this.ttlMs, "NX")
        .pexpire(alive, this.ttlMs);
      if (this.options.pausedKey) batch.exists(this.options.pausedKey);
      const results = await batch.exec();
      if (this.options.pausedKey && results) {
        const [err, exists] = results[results.length - 1]!;
        if (!err) this.options.onPaused?.(exists === 1);
      }
    } catch (err) {
      this.options.logger.warn({ err, node: this.nodeId }, "cluster heartbeat failed");
    }
  }

  /** The live nodes, oldest first. */
  async list(): Promise<NodeInfo[]> {
    const redis = await this.link.commands();
    const ids = await redis.zrangebyscore(this.link.key("nodes"), Date.now(), "+inf");
    if (ids.length === 0) return [];
    const batch = redis.pipeline();
    for (const id of ids) batch.hgetall(this.link.key("node", id));
    const hashes = (await batch.exec()) ?? [];
    const out: NodeInfo[] = [];
    ids.forEach((id, i) => {
      const [err, hash] = hashes[i] ?? [null, {}];
      const h = (err ? {} : hash) as Record<string, string>;
      if (!h.host) return; // left between the two reads
      out.push({ id, host: h.host, pid: Number(h.pid), started_at: h.started_at ?? "", running: Number(h.running ?? 0) });
    });
    return out.sort((a, b) => a.started_at.localeCompare(b.started_at) || a.id.localeCompare(b.id));
  }

  /** Stops the heartbeat and leaves; the last node to leave ends the cluster (`cluster:alive`). */
  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    if (this.timer) clearInterval(this.timer);
    await this.beating;
    if (!this.joining) return;
    try {
      await this.joining;
      const redis = await this.link.commands();
      await redis.eval(LEAVE_SCRIPT, 3, this.link.key("nodes"), this.link.key("node", this.nodeId), this.link.key("cluster", "alive"), this.nodeId, Date.now());
    } catch (err) {
      this.options.logger.warn({ err, node: this.nodeId }, "could not leave the cluster cleanly (its entry expires)");
    }
  }
}

