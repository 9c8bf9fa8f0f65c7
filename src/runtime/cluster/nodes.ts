/**
 * What one node runs for the cluster beside its execution queue
 * (RuntimeBackend.cluster): its membership (nodes-membership.ts), timer
 * ticks from BullMQ job schedulers (ticks.ts, timer-ticks.ts), the event
 * feed (feed.ts) and cluster stats (cluster-stats.ts), built over the
 * backend's RedisLink. Nothing connects until first used.
 */
import type { EventFeed } from "../../events/bus.js";
import type { Logger } from "../../logging/index.js";
import type { RedisLink } from "../../storage/redis/connection.js";
import type { RuntimeStats } from "../types.js";
import { ClusterStats, countBatch, type IdleSource } from "./cluster-stats.js";
import { ClusterFeed } from "./feed.js";
import { NodeMembership, newNodeId } from "./nodes-membership.js";
import { ClusterTickSource } from "./ticks.js";
import { RedisTimerLedger } from "./timer-ticks.js";

export { NodeMembership, newNodeId, type NodeInfo } from "./nodes-membership.js";

/** What one node runs for the cluster besides its execution queue (RuntimeBackend.cluster). */
export interface ClusterServices {
  readonly nodeId: string;
  readonly membership: NodeMembership;
  /** The runtime's tick source (RuntimeBackend.ticks). */
  readonly ticks: ClusterTickSource;
  /** Attached to the runtime's bus (EventBus.attachFeed). */
  readonly feed: EventFeed;
  /** This node's stats with the cluster's numbers (RuntimeHandle.getStats). */
  stats(local: RuntimeStats): Promise<RuntimeStats>;
  /** Where `stats` reads an agent's idle seconds across the cluster: the node's execution queue, once it exists. */
  useIdleSource(source: IdleSource): void;
  /** Stops ticks, writes the feed's last events and leaves the cluster; the link stays open (its owner closes it). */
  close(): Promise<void>;
}

export interface ClusterServicesOptions {
  /** Default: a new `<hostname>:<pid>:<4 hex>`. */
  nodeId?: string;
  logger: Logger;
  heartbeatMs?: number;
  ttlMs?: number;
  /** Queued and running counts from BullMQ queues (default true; false while executions run on per-node queues). */
  queueCounts?: boolean;
  /** How long one feed read blocks (default 1 s). */
  feedBlockMs?: number;
}

export function createClusterServices(link: RedisLink, options: ClusterServicesOptions): ClusterServices {
  const { logger } = options;
  const nodeId = options.nodeId ?? newNodeId();
  const ledger = new RedisTimerLedger(link, logger);
  const membership = new NodeMembership(link, {
    nodeId,
    logger,
    heartbeatMs: options.heartbeatMs,
    ttlMs: options.ttlMs,
    pausedKey: ledger.pausedKey(),
    onPaused: (paused) => ledger.notePaused(paused),
  });
  const ticks = new ClusterTickSource(link, { logger, membership, ledger });
  const feed = new ClusterFeed(link, { nodeId, logger, blockMs: options.feedBlockMs, onBatch: countBatch(link, nodeId) });
  const stats = new ClusterStats(link, { nodeId, membership, ticks, ledger, logger, queueCounts: options.queueCounts ?? true });
  let closing: Promise<void> | undefined;
  return {
    nodeId,
    membership,
    ticks,
    feed: {
      append(event) {
        membership.observe(event);
        feed.append(event);
      },
      subscribe: (handler) => feed.subscribe(handler),
    },
    useIdleSource: (source) => {
      stats.idleSource = source;
    },
    async stats(local) {
      // Joined on first use too: a node whose runtime has not started its timers still shows.
      await membership.join();
      return stats.overlay(local);
    },
    close() {
      closing ??= (async () => {
        const step = (what: string, work: () => Promise<unknown>) =>
          work().catch((err: unknown) => logger.warn({ err }, `closing the cluster services: ${what} failed`));
        await step("timer ticks", () => ticks.close());
        await step("event feed", () => feed.close());
        await step("stats queues", () => stats.close());
        await step("leaving", () => membership.leave());
      })();
      return closing;
    },
  };
}
