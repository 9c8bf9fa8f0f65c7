// Shared pieces for runtime tests: agents built in code, and a stand-in
// executor whose runs take a set time and honour cancellation.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentFromObject } from "../../src/config/index.js";
import type { Agent } from "../../src/config/schema.js";
import type { ExecuteGraph, ExecuteOptions } from "../../src/graph/types.js";
import type { ExecutionResult, ExecutionStatus } from "../../src/result.js";
import { emptyUsage } from "../../src/result.js";
import type { Clock } from "../../src/util/clock.js";

export async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "forager-runtime-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** An agent with one function node whose module is written into `dir`. */
export async function functionAgent(
  dir: string,
  name: string,
  entryPoints: unknown[] | undefined,
  source = "export default async () => ({ done: true });",
  extra: Record<string, unknown> = {},
): Promise<Agent> {
  const module = `${name}-node.mjs`;
  await writeFile(join(dir, module), source);
  return agentFromObject(
    {
      name,
      graph: { nodes: [{ id: "work", type: "function", module: `./${module}`, output_keys: ["done"] }], ...(extra.graph as object) },
      ...(entryPoints ? { entry_points: entryPoints } : {}),
      ...(extra.runtime ? { runtime: extra.runtime } : {}),
    },
    { baseDir: dir },
  );
}

/** A plain agent for tests that never reach the executor's node code. */
export function plainAgent(name: string, entryPoints?: unknown[], runtime?: Record<string, unknown>): Agent {
  return agentFromObject({
    name,
    graph: { nodes: [{ id: "work", type: "function", module: "./none.mjs" }] },
    ...(entryPoints ? { entry_points: entryPoints } : {}),
    ...(runtime ? { runtime } : {}),
  });
}

export interface FakeExecutor {
  execute: ExecuteGraph;
  running: number;
  maxRunning: number;
  started: ExecuteOptions[];
  /** Executions whose work was cut short by their signal. */
  stoppedEarly: string[];
  finished: string[];
}

/** Each run takes `durationMs` on `clock` (real timers when none), publishes like the executor, and stops on abort. */
export function fakeExecutor(durationMs: number | ((o: ExecuteOptions) => number), clock?: Clock): FakeExecutor {
  const fake: FakeExecutor = {
    running: 0,
    maxRunning: 0,
    started: [],
    stoppedEarly: [],
    finished: [],
    execute: async (o) => {
      fake.running++;
      fake.maxRunning = Math.max(fake.maxRunning, fake.running);
      fake.started.push(o);
      const now = () => (clock ?? Date).now();
      const startedMs = now();
      const ids = { graph_id: o.agent.name, stream_id: o.entryPoint.id, execution_id: o.executionId, session_id: o.sessionId };
      o.bus.publish({ type: "execution_started", ...ids });
      let status: ExecutionStatus = "completed";
      try {
        const ms = typeof durationMs === "function" ? durationMs(o) : durationMs;
        await new Promise<void>((resolve, reject) => {
          if (o.signal.aborted) return reject(new Error(String(o.signal.reason)));
          const onAbort = () => {
            (clock ?? globalThis).clearTimeout(timer as never);
            reject(new Error(String(o.signal.reason)));
          };
          const timer = (clock ?? globalThis).setTimeout(() => {
            o.signal.removeEventListener("abort", onAbort);
            resolve();
          }, ms);
          o.signal.addEventListener("abort", onAbort, { once: true });
        });
      } catch {
        status = "cancelled";
        fake.stoppedEarly.push(o.executionId);
      } finally {
        fake.running--;
      }
      fake.finished.push(o.executionId);
      const finishedMs = now();
      o.bus.publish({ type: status === "completed" ? "execution_completed" : "execution_cancelled", ...ids, data: { status } });
      const result: ExecutionResult = {
        schema_version: 1,
        execution_id: o.executionId,
        session_id: o.sessionId,
        agent: o.agent.name,
        entry_point: o.entryPoint.id,
        status,
        success: status === "completed",
        output: status === "completed" ? { done: true } : {},
        error: status === "completed" ? null : { code: "cancelled", message: "cancelled", reason: String(o.signal.reason) },
        path: ["work"],
        steps_executed: 1,
        usage: emptyUsage(),
        started_at: new Date(startedMs).toISOString(),
        finished_at: new Date(finishedMs).toISOString(),
        duration_ms: finishedMs - startedMs,
      };
      await o.store?.save({ ...result, input: o.input, queued_at: o.queuedAt ?? result.started_at! });
      return result;
    },
  };
  return fake;
}

/** Resolves on a later turn, after pending promise callbacks. */
export const tick = () => new Promise((resolve) => setImmediate(resolve));
