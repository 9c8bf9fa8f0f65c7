/**
 * `/stats` for a cluster (DISTRIBUTED.md §4.9, SPEC 9): this node's stats
 * with the cluster's numbers laid over them, in a few round trips:
 * - finished counts (completed / failed / cancelled) from the hashes
 *   `<prefix>:stats:<agent>/<entry point>`, counted by the node that
 *   published each execution's final event (`countBatch`, in the feed's
 *   pipeline);
 * - queued and running from the BullMQ job counts of each entry point's
 *   queue (`<agent>.<entry point>`), when executions run on BullMQ queues;
 * - timers: the cluster's counters, next tick and pause;
 * - `nodes` from the heartbeat ZSET;
 * - `event_bus.total_events` and `events_by_type` summed over the live
 *   nodes (each counts its own bus in `<prefix>:node:<id>:bus`, in the same
 *   pipeline); the rest of `event_bus` stays this node's.
 * - `agent_idle_seconds` from the cluster's activity hashes
 *   (cluster-activity.ts), one read per agent, once the queue is there.
 * `uptime_seconds` stays this node's.
 */
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { ForagerEvent } from "../../events/types.js";
import type { Logger } from "../../logging/index.js";
import type { RedisLink } from "../../storage/redis/connection.js";
import type { RuntimeStats } from "../types.js";
import type { NodeMembership } from "./nodes-membership.js";
import type { ClusterTickSource } from "./ticks.js";
import type { RedisTimerLedger } from "./timer-ticks.js";

const FINISHED: Record<string, "completed" | "failed" | "cancelled"> = {
  execution_completed: "completed",
  execution_failed: "failed",
  execution_cancelled: "cancelled",
};

/** The hash of an entry point's finished counts. */
export function statsKey(link: RedisLink, agent: string, entryPoint: string): string {
  return link.key("stats", `${agent}/${entryPoint}`);
}

/** The hash of a node's bus counters (`total`, `type:<event type>`). */
export function busKey(link: RedisLink, nodeId: string): string {
  return link.key("node", nodeId, "bus");
}

/**
 * Adds to a feed batch the counting of what it carries: the executions it
 * finishes (one HINCRBY per final event) and this node's bus counters (one
 * HINCRBY per event type in the batch).
 */
export function countBatch(link: RedisLink, nodeId: string) {
  return (batch: ReturnType<Redis["pipeline"]>, events: readonly ForagerEvent[]): void => {
    const byType = new Map<string, number>();
    for (const event of events) {
      byType.set(event.type, (byType.get(event.type) ?? 0) + 1);
      const status = FINISHED[event.type];
      if (status && event.graph_id && event.stream_id && event.execution_id) batch.hincrby(statsKey(link, event.graph_id, event.stream_id), status, 1);
    }
    const bus = busKey(link, nodeId);
    batch.hincrby(bus, "total", events.length);
    for (const [type, n] of byType) batch.hincrby(bus, `type:${type}`, n);
  };
}

export interface ClusterStatsOptions {
  nodeId: string;
  membership: NodeMembership;
  ticks: ClusterTickSource;
  ledger: RedisTimerLedger;
  logger: Logger;
  /** Queued and running come from BullMQ queues (false while executions run on this node's own queue). */
  queueCounts: boolean;
}

/** Seconds since the agent's executions on any live node last did something; null when none runs. */
export type IdleSource = (agent: string) => Promise<number | null>;

export class ClusterStats {
  private readonly queues = new Map<string, Promise<Queue>>();
  /** Set by the node's execution queue; until then `agent_idle_seconds` stays this node's. */
  idleSource?: IdleSource;

  constructor(
    private readonly link: RedisLink,
    private readonly options: ClusterStatsOptions,
  ) {}

  /** `local` with the cluster's numbers; `local` itself is not changed. */
  async overlay(local: RuntimeStats): Promise<RuntimeStats> {
    const { membership, ticks, ledger } = this.options;
    const redis = await this.link.commands();
    const streamKeys = Object.keys(local.streams);
    const timerKeys = Object.keys(local.timers);
    const batch = redis.pipeline();
    for (const key of streamKeys) {
      const stream = local.streams[key]!;
      batch.hgetall(statsKey(this.link, stream.agent, stream.entry_point));
    }
    const idleSource = this.idleSource;
    const agents = [...new Set(streamKeys.map((key) => local.streams[key]!.agent))];
    const [finished, counts, timers, nodes, paused, idle] = await Promise.all([
      batch.exec(),
      this.options.queueCounts ? Promise.all(streamKeys.map((key) => this.jobCounts(local.streams[key]!))) : undefined,
      Promise.all(timerKeys.map(async (key) => ({ counters: await ledger.counters(key), next: await ticks.storedNext(key).catch(() => null) }))),
      membership.list(),
      ledger.refreshPaused(),
      idleSource ? Promise.all(agents.map(async (agent) => [agent, await idleSource(agent)] as const)).then((pairs) => new Map(pairs)) : undefined,
    ]);
    const streams: RuntimeStats["streams"] = {};
    let running = 0;
    let queued = 0;
    streamKeys.forEach((key, i) => {
      const stream = local.streams[key]!;
      const [err, hash] = finished?.[i] ?? [null, {}];
      const done = (err ? {} : hash) as Record<string, string>;
      const status_counts = {
        ...stream.status_counts,
        completed: Number(done.completed ?? 0),
        failed: Number(done.failed ?? 0),
        cancelled: Number(done.cancelled ?? 0),
      };
      const live = counts?.[i];
      if (live) {
        status_counts.running = live.running;
        status_counts.queued = live.queued;
      }
      running += status_counts.running;
      queued += status_counts.queued;
      const available_slots = live ? Math.max(0, stream.max_concurrent - live.running) : stream.available_slots;
      const agent_idle_seconds = idle ? (idle.get(stream.agent) ?? null) : stream.agent_idle_seconds;
      streams[key] = { ...stream, status_counts, available_slots, agent_idle_seconds };
    });
    const timerStats: RuntimeStats["timers"] = {};
    timerKeys.forEach((key, i) => {
      const { counters, next } = timers[i]!;
      timerStats[key] = {
        ...local.timers[key]!,
        paused,
        next_run_at: next === null ? local.timers[key]!.next_run_at : new Date(next).toISOString(),
        ...counters,
      };
    });
    return {
      ...local,
      event_bus: await this.busTotals(local.event_bus, nodes.map((n) => n.id)),
      timers_paused: paused,
      ...(counts ? { active_executions: running, queued_executions: queued } : {}),
      streams,
      timers: timerStats,
      nodes,
    };
  }

  /** This node's bus counters plus the other live nodes' (as of their last feed batch). */
  private async busTotals(local: RuntimeStats["event_bus"], nodeIds: string[]): Promise<RuntimeStats["event_bus"]> {
    const others = nodeIds.filter((id) => id !== this.options.nodeId);
    if (others.length === 0) return local;
    const redis = await this.link.commands();
    const batch = redis.pipeline();
    for (const id of others) batch.hgetall(busKey(this.link, id));
    const hashes = (await batch.exec()) ?? [];
    let total = local.total_events;
    const byType: Record<string, number> = { ...local.events_by_type };
    for (const [err, hash] of hashes) {
      if (err) continue;
      for (const [field, value] of Object.entries(hash as Record<string, string>)) {
        if (field === "total") total += Number(value);
        else if (field.startsWith("type:")) byType[field.slice(5)] = (byType[field.slice(5)] ?? 0) + Number(value);
      }
    }
    return { ...local, total_events: total, events_by_type: byType };
  }

  private async jobCounts(stream: { agent: string; entry_point: string }): Promise<{ running: number; queued: number }> {
    const name = `${stream.agent}.${stream.entry_point}`;
    let pending = this.queues.get(name);
    if (!pending) {
      pending = (async () => {
        const { Queue } = await import("bullmq");
        const queue = new Queue(name, { connection: await this.link.commands(), prefix: this.link.key("bull") });
        // Without a listener BullMQ prints each connection error with its stack on stderr while Redis is away.
        queue.on("error", (err) => this.options.logger.debug({ err, queue: name }, "stats queue: Redis error"));
        return queue;
      })();
      this.queues.set(name, pending);
      pending.catch(() => this.queues.delete(name));
    }
    const counts = await (await pending).getJobCounts("active", "wait", "prioritized");
    return { running: counts.active ?? 0, queued: (counts.wait ?? 0) + (counts.prioritized ?? 0) };
  }

  async close(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(queues.map(async (q) => (await q.catch(() => undefined))?.close().catch(() => undefined)));
  }
}
