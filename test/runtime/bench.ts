// Runtime measurements (not a unit test). Run: node --expose-gc --import tsx test/runtime/bench.ts
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import { fakeExecutor, functionAgent } from "./helpers.js";

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const dir = await mkdtemp(join(tmpdir(), "forager-bench-"));
try {
  // 1. Throughput: trigger-to-completion, storage on, max_concurrent 100, vs a plain promise pool.
  const N = Number(process.env.BENCH_N ?? 1000);
  const agent = await functionAgent(dir, "bench", [{ id: "api", trigger_type: "api", max_concurrent: 100, max_queued: 100_000 }]);
  const runtime = new AgentRuntime({ agent, storagePath: join(dir, "storage") });
  await runtime.start();
  await runtime.waitForCompletion(await runtime.trigger("api"));
  let t0 = performance.now();
  const ids = await Promise.all(Array.from({ length: N }, (_, i) => runtime.trigger("api", { i })));
  await Promise.all(ids.map((id) => runtime.waitForCompletion(id)));
  const runtimeSec = (performance.now() - t0) / 1000;
  await runtime.stop();
  const fn = (await import(pathToFileURL(join(dir, "bench-node.mjs")).href)).default as () => Promise<unknown>;
  t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 100 }, async () => {
    while (next < N) {
      next++;
      await fn();
    }
  }));
  const poolSec = (performance.now() - t0) / 1000;
  console.log(`throughput: runtime ${(N / runtimeSec).toFixed(0)} exec/s, plain pool ${(N / poolSec).toFixed(0)} exec/s, ratio ${((poolSec / runtimeSec) * 100).toFixed(2)}%`);

  // 2. Memory per queued execution (10 000 queued behind one that never ends), file storage.
  const blocked = await functionAgent(
    dir,
    "queue",
    [{ id: "api", trigger_type: "api", max_concurrent: 1, overlap: "queue", max_queued: 20_000 }],
    `export default ({ signal }) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("stopped"))));`,
  );
  const q = new AgentRuntime({ agent: blocked, storagePath: join(dir, "storage-q") });
  await q.start();
  await q.trigger("api");
  await new Promise((r) => setTimeout(r, 50));
  await q.store.flush();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 10_000; i++) await q.trigger("api", { i, payload: "x".repeat(64) });
  await q.store.flush();
  gc();
  const perQueued = (process.memoryUsage().heapUsed - before) / 10_000;
  console.log(`memory per queued execution: ${(perQueued / 1024).toFixed(2)} KB (10 000 queued, queued=${q.getStats().queued_executions})`);
  await q.stop({ graceMs: 0 });

  // 3. getStats with 100 000 retained results.
  const fake = fakeExecutor(0);
  const s = new AgentRuntime({
    agent: await functionAgent(dir, "stats", [{ id: "api", trigger_type: "api", max_concurrent: 100, max_queued: 200_000 }]),
    config: { execution_result_max: 100_000, cache_ttl: 3600 },
    execute: fake.execute,
  });
  await s.start();
  const all = await Promise.all(Array.from({ length: 100_000 }, () => s.trigger("api")));
  await Promise.all(all.map((id) => s.waitForCompletion(id)));
  t0 = performance.now();
  for (let i = 0; i < 1000; i++) s.getStats();
  console.log(`getStats with ${s.getStats().streams["stats/api"]!.status_counts.completed} retained results: ${((performance.now() - t0) / 1000).toFixed(4)} ms per call`);
  await s.stop();
} finally {
  await rm(dir, { recursive: true, force: true });
}
