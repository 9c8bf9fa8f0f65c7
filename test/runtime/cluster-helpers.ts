// Several AgentRuntimes in one test process acting as the nodes of one
// cluster: one redis-server per test file, a fresh redis_prefix per test,
// each node with the Redis stores of its own backend (or, with
// `stores: "memory"`, one shared in-memory set standing in for them).
import { randomBytes } from "node:crypto";
import type { Agent } from "../../src/config/schema.js";
import type { ExecuteGraph, ExecuteOptions } from "../../src/graph/types.js";
import { silentLogger } from "../../src/logging/index.js";
import type { ExecutionResult, ExecutionStatus } from "../../src/result.js";
import { emptyUsage } from "../../src/result.js";
import { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import { createBackend, type RuntimeBackend } from "../../src/runtime/backend.js";
import type { ExecutionQueue, JobRunner } from "../../src/runtime/execution-queue.js";
import { MemoryKeyStore } from "../../src/storage/keys.js";
import { MemorySessionStore } from "../../src/storage/memory.js";
import { MemoryStateStore } from "../../src/storage/state.js";
import type { SessionStore, StateStore } from "../../src/storage/types.js";
import { systemClock } from "../../src/util/clock.js";

export interface Run {
  id: string;
  node: string;
  entryPoint: string;
  attempt: number | undefined;
  startMs: number;
  endMs?: number;
  status?: ExecutionStatus;
}

/** Every execution any node ran, with where, when and which attempt; each run holds until its duration passes or it is aborted. */
export class RunLog {
  readonly runs: Run[] = [];
  private readonly listeners = new Set<() => void>();

  /** The executor of node `node`: runs take `durationMs(o)` (or until released with `release(id)`), honour cancellation, save like the executor. */
  executor(node: string, durationMs: (o: ExecuteOptions) => number | "hold"): ExecuteGraph {
    return async (o) => {
      const run: Run = { id: o.executionId, node, entryPoint: o.entryPoint.id, attempt: o.attempt, startMs: Date.now() };
      this.runs.push(run);
      this.changed();
      const ids = { graph_id: o.agent.name, stream_id: o.entryPoint.id, execution_id: o.executionId, session_id: o.sessionId };
      o.bus.publish({ type: "execution_started", ...ids, data: { attempt: o.attempt } });
      await o.store?.save({ ...record(o, "running", run.startMs), finished_at: null, duration_ms: null });
      let status: ExecutionStatus = "completed";
      const ms = durationMs(o);
      try {
        await new Promise<void>((resolve, reject) => {
          if (o.signal.aborted) return reject(new Error(String(o.signal.reason)));
          const timer = ms === "hold" ? undefined : setTimeout(resolve, ms);
          if (this.released.has(o.executionId)) resolve();
          this.releasers.set(o.executionId, resolve);
          o.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(new Error(String(o.signal.reason)));
          }, { once: true });
        });
      } catch {
        status = "cancelled";
      }
      run.endMs = Date.now();
      run.status = status;
      const result = record(o, status, run.startMs, run.endMs);
      await o.store?.save(result);
      o.bus.publish({ type: status === "completed" ? "execution_completed" : "execution_cancelled", ...ids, data: { status } });
      this.changed();
      return result;
    };
  }

  private readonly releasers = new Map<string, () => void>();
  private readonly released = new Set<string>();

  /** Ends a held run as completed (also one that has started but not yet begun to hold). */
  release(id: string): void {
    this.released.add(id);
    this.releasers.get(id)?.();
  }

  /** Resolves once `check` holds over the runs (re-checked at every start and end). */
  until(what: string, check: (runs: Run[]) => boolean, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; runs: ${JSON.stringify(this.runs)}`));
      }, timeoutMs);
      const listener = () => {
        if (!check(this.runs)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve();
      };
      this.listeners.add(listener);
      listener();
    });
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** The most runs of `filter` that overlapped in time. */
  maxOverlap(filter: (run: Run) => boolean = () => true): number {
    const edges: [number, number][] = [];
    for (const run of this.runs.filter(filter)) {
      edges.push([run.startMs, 1], [run.endMs ?? Infinity, -1]);
    }
    // An end and a start at the same millisecond do not overlap: ends first.
    edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let now = 0;
    let max = 0;
    for (const [, delta] of edges) max = Math.max(max, (now += delta));
    return max;
  }
}

function record(o: ExecuteOptions, status: ExecutionStatus, startMs: number, endMs?: number) {
  const result: ExecutionResult = {
    schema_version: 1,
    execution_id: o.executionId,
    session_id: o.sessionId,
    agent: o.agent.name,
    entry_point: o.entryPoint.id,
    status,
    success: status === "completed",
    output: status === "completed" ? { done: true } : {},
    error: status === "completed" || status === "running" ? null : { code: "cancelled", message: "cancelled", reason: String(o.signal.reason) },
    path: ["work"],
    steps_executed: 1,
    usage: emptyUsage(),
    started_at: new Date(startMs).toISOString(),
    finished_at: endMs === undefined ? null : new Date(endMs).toISOString(),
    duration_ms: endMs === undefined ? null : endMs - startMs,
  };
  return { ...result, input: o.input, queued_at: o.queuedAt ?? result.started_at! };
}

export interface ClusterOptions {
  redisUrl: string;
  agents: Agent[];
  nodes: number;
  /** runtime settings of every node (max_concurrent_executions, worker_loss, ...). */
  config?: Record<string, unknown>;
  /** `redis` (default): each node's backend makes the Redis stores; `memory`: one shared in-memory set. */
  stores?: "redis" | "memory";
  /** The cluster's redis_prefix; default a fresh one. */
  prefix?: string;
  /** The executor of node i; default: the graph executor. */
  execute?: (node: string) => ExecuteGraph;
  /** Wraps the job runner each node's queue is started with (to break it on purpose). */
  wrapRunner?: (runner: JobRunner) => JobRunner;
}

export interface Cluster {
  prefix: string;
  nodes: AgentRuntime[];
  queues: ExecutionQueue[];
  backends: RuntimeBackend[];
  /** The first node's stores: every node sees the same records and state. */
  store: SessionStore;
  state: StateStore;
  stop(): Promise<void>;
}

/** N runtimes sharing one Redis prefix and one set of stores; started. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const prefix = options.prefix ?? `t${randomBytes(4).toString("hex")}`;
  const shared = options.stores === "memory" ? { store: new MemorySessionStore(), state: new MemoryStateStore(), keys: new MemoryKeyStore() } : {};
  const config = { max_concurrent_executions: 10, ...options.config };
  const nodes: AgentRuntime[] = [];
  const queues: ExecutionQueue[] = [];
  const backends: RuntimeBackend[] = [];
  for (let i = 0; i < options.nodes; i++) {
    const backend = createBackend(
      { execution_result_max: 1000, cache_ttl: 60, ...config, backend: "redis", redis_url: options.redisUrl, redis_prefix: prefix } as Parameters<typeof createBackend>[0],
      { clock: systemClock, logger: silentLogger(), ...shared },
    );
    const createQueue = backend.createQueue.bind(backend);
    backend.createQueue = (host) => {
      const queue = createQueue(host);
      const wrap = options.wrapRunner;
      if (wrap) {
        const start = queue.start.bind(queue);
        queue.start = (runner) => start(wrap(runner));
      }
      queues[i] = queue;
      return queue;
    };
    backends.push(backend);
    nodes.push(
      new AgentRuntime({
        agents: options.agents,
        backend,
        config,
        ...(options.execute ? { execute: options.execute(`n${i}`) } : {}),
      }),
    );
  }
  await Promise.all(nodes.map((node) => node.start()));
  return {
    prefix,
    nodes,
    queues,
    backends,
    store: backends[0]!.store,
    state: backends[0]!.state,
    async stop() {
      await Promise.all(nodes.map((node) => node.stop({ graceMs: 0 })));
      await Promise.all(backends.map((backend) => backend.close()));
    },
  };
}
