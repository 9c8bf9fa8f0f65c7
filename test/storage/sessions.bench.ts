// Measures the session store at scale. Not part of the test suite:
//   node --import tsx test/storage/sessions.bench.ts [count]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { FileSessionStore } from "../../src/storage/sessions.js";
import type { ExecutionRecord } from "../../src/result.js";
import type { ForagerEvent } from "../../src/events/types.js";
import { newExecutionId, newSessionId, newEventId } from "../../src/util/ids.js";

const count = Number(process.argv[2] ?? 10_000);
const dir = await mkdtemp(join(tmpdir(), "forager-bench-"));

function record(i: number): ExecutionRecord {
  const t = Date.UTC(2026, 0, 1) + i * 1000;
  return {
    schema_version: 1,
    execution_id: newExecutionId(t),
    session_id: newSessionId(t),
    agent: i % 2 ? "alpha" : "beta",
    entry_point: "api",
    status: i % 10 === 0 ? "failed" : "completed",
    success: i % 10 !== 0,
    output: { summary: "x".repeat(200) },
    error: null,
    path: ["a", "b", "c"],
    steps_executed: 3,
    usage: { llm_calls: 1, tool_calls: 2, input_tokens: 300, output_tokens: 50, cost_usd: 0.001 },
    started_at: new Date(t).toISOString(),
    finished_at: new Date(t + 500).toISOString(),
    duration_ms: 500,
    input: { query: "hello" },
    queued_at: new Date(t).toISOString(),
  };
}

async function time<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await fn();
  console.log(`${label}: ${(performance.now() - start).toFixed(1)} ms`);
  return result;
}

try {
  const store = new FileSessionStore(dir);
  await store.init();
  const records = Array.from({ length: count }, (_, i) => record(i));
  const start = performance.now();
  // Eight saves at a time, as a busy runtime would issue them.
  for (let i = 0; i < records.length; i += 8) await Promise.all(records.slice(i, i + 8).map((r) => store.save(r)));
  const saveMs = performance.now() - start;
  console.log(`save ${count} records: ${saveMs.toFixed(0)} ms (${((saveMs / count) * 1000).toFixed(0)} µs per save, 8 in parallel)`);

  const one = records[0]!;
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) await store.save({ ...one, steps_executed: i });
  console.log(`save one record sequentially: ${((performance.now() - t0) / 200).toFixed(3)} ms per save`);

  const events: ForagerEvent[] = Array.from({ length: 20_000 }, (_, i) => ({
    id: newEventId(), type: "node_completed", timestamp: new Date().toISOString(), graph_id: one.agent,
    stream_id: "api", execution_id: one.execution_id, session_id: one.session_id, node_id: "n" + (i % 5),
    correlation_id: null, data: { step: i, output: { ok: true } },
  }));
  const e0 = performance.now();
  for (const e of events) void store.appendEvents(one.agent, one.session_id, [e]);
  await store.flush();
  const eMs = performance.now() - e0;
  console.log(`appendEvents 20000 events, one call each, not awaited: ${((eMs / events.length) * 1000).toFixed(2)} µs per event`);
  const e1 = performance.now();
  for (const e of events.slice(0, 2000)) await store.appendEvents(one.agent, one.session_id, [e]);
  console.log(`appendEvents 2000 events, each awaited: ${(((performance.now() - e1) / 2000) * 1000).toFixed(1)} µs per event`);

  await time("list({limit: 50}) warm, same process", () => store.list({ limit: 50 }));
  await time("list() full warm, same process", () => store.list());
  const fresh = new FileSessionStore(dir);
  await time("list({limit: 50}) cold, new store (reads index files)", () => fresh.list({ limit: 50 }));
  await time("list({limit: 50}) warm again", () => fresh.list({ limit: 50 }));
  const all = await time("list() full warm", () => fresh.list());
  console.log(`  listed ${all.length}`);
  await time("get(id) cold-ish", () => fresh.get(records[1234]!.execution_id));
  await time("get(unknown id) full scan", () => fresh.get("exec_NOPE"));
  const again = new FileSessionStore(dir);
  await time("init() on 10 000 sessions", () => again.init());
} finally {
  await rm(dir, { recursive: true, force: true });
}
