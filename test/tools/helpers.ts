/** Shared test helpers for tools: agents built from the real schema, a tool context. */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { schemas, type Agent } from "../../src/config/schema.js";
import { silentLogger } from "../../src/logging/index.js";
import type { EventInit, ForagerEvent } from "../../src/events/types.js";
import type { ToolContext } from "../../src/tools/types.js";

export function makeAgent(fields: { tools?: unknown; mcp_servers?: unknown }, baseDir: string): Agent {
  const file = schemas().AgentFileSchema.parse({
    name: "tools-test",
    graph: { nodes: [{ id: "only", type: "function", module: "./none.js" }] },
    ...fields,
  });
  return { ...file, entry_points: [], source_path: join(baseDir, "agent.yaml"), base_dir: baseDir };
}

export interface TestContext extends ToolContext {
  published: EventInit[];
}

export function makeContext(options: { signal?: AbortSignal; scope?: Record<string, unknown> } = {}): TestContext {
  const published: EventInit[] = [];
  return {
    signal: options.signal ?? new AbortController().signal,
    scope: options.scope ?? { input: {}, memory: {}, state: {}, execution: { id: "exec-1" } },
    logger: silentLogger(),
    published,
    publish(event: EventInit): ForagerEvent {
      published.push(event);
      return {
        id: `evt-${published.length}`,
        type: event.type,
        timestamp: new Date(0).toISOString(),
        graph_id: "tools-test",
        stream_id: null,
        execution_id: "exec-1",
        session_id: null,
        node_id: null,
        correlation_id: null,
        data: event.data ?? {},
      };
    },
  };
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "forager-tools-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** True while a process with this pid exists (zombies included until reaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed orphan may linger as a zombie where nothing reaps it (PID 1 in
  // some containers); it no longer runs, so it counts as gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}
