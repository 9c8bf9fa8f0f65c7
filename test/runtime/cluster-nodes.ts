// Several AgentRuntimes in one test process acting as the nodes of one
// cluster: one Redis, one prefix, each with its own RedisLink and cluster
// services (membership, timer ticks, event feed, stats). Executions still run
// on each node's own in-process queue here: the tests cover what the cluster
// services do on their own.
import { runtimeDefaults } from "../../src/config/defaults.js";
import type { Agent } from "../../src/config/schema.js";
import type { ForagerEvent } from "../../src/events/types.js";
import type { ExecuteGraph } from "../../src/graph/types.js";
import { jsonLogger } from "../helpers/json-logs.js";
import { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import { createBackend, type RuntimeBackend } from "../../src/runtime/backend.js";
import { createClusterServices, type ClusterServices } from "../../src/runtime/cluster/nodes.js";
import { RedisLink } from "../../src/storage/redis/connection.js";
import type { KeyStore } from "../../src/storage/types.js";
import { systemClock } from "../../src/util/clock.js";
import type { ToolResolver } from "../../src/tools/types.js";

export const noTools: ToolResolver = {
  get: async (name) => {
    throw new Error(`no tool ${name}`);
  },
  resolve: async () => [],
  close: async () => undefined,
};

export interface TestNode {
  runtime: AgentRuntime;
  cluster: ClusterServices;
  link: RedisLink;
  /** Every event of this node's bus (scope local). */
  events: ForagerEvent[];
  /** Log lines (JSON) of this node. */
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

let prefixes = 0;
/** A prefix no other test uses. */
export function freshPrefix(name: string): string {
  return `t${process.pid}-${Date.now().toString(36)}-${++prefixes}-${name}`;
}

export async function startNode(
  url: string,
  prefix: string,
  agents: Agent[],
  options: { execute: ExecuteGraph; keys?: KeyStore; start?: boolean },
): Promise<TestNode> {
  const { logger, logs } = jsonLogger();
  const link = new RedisLink({ url, prefix });
  const cluster = createClusterServices(link, { logger, heartbeatMs: 200, ttlMs: 3_000, queueCounts: false, feedBlockMs: 200 });
  const base = createBackend(runtimeDefaults(), { clock: systemClock, logger, keys: options.keys });
  const backend: RuntimeBackend = { ...base, ticks: () => cluster.ticks, cluster };
  const runtime = new AgentRuntime({ agents, backend, execute: options.execute, tools: noTools, logger });
  const events: ForagerEvent[] = [];
  runtime.subscribe((e) => void events.push(e));
  if (options.start !== false) await runtime.start();
  let stopping: Promise<void> | undefined;
  return {
    runtime,
    cluster,
    link,
    events,
    logs,
    stop() {
      stopping ??= (async () => {
        await runtime.stop({ graceMs: 0 });
        await cluster.close();
        await base.close();
        await link.close();
      })();
      return stopping;
    },
  };
}
