/**
 * Executor overhead benchmark (not a test): a 200-node linear graph of
 * trivial function nodes, with file storage on. Prints ms per step and peak RSS.
 *   node --import tsx test/graph/bench-linear.ts [runs]
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventBus } from "../../src/events/bus.js";
import { executeGraph } from "../../src/graph/index.js";
import { silentLogger } from "../../src/logging/index.js";
import { FileSessionStore } from "../../src/storage/sessions.js";
import { FileStateStore } from "../../src/storage/state.js";
import { FakeResolver, makeAgent } from "./helpers.js";

const NODES = 200;
const runs = Number(process.argv[2] ?? 30);

const dir = await mkdtemp(join(tmpdir(), "forager-bench-"));
try {
  await writeFile(join(dir, "step.mjs"), "export default function step({ memory }) { return { n: (memory.n ?? 0) + 1 }; }\n");
  const nodes = Array.from({ length: NODES }, (_, i) => ({ id: `n${i}`, type: "function", module: "step.mjs", output_keys: ["n"] }));
  const edges = nodes.slice(1).map((node, i) => ({ from: `n${i}`, to: node.id }));
  const agent = makeAgent({ name: "bench", graph: { max_steps: NODES, nodes, edges } }, dir);
  const store = new FileSessionStore(join(dir, "storage"));
  await store.init();
  const state = new FileStateStore(join(dir, "storage"));
  const bus = new EventBus();
  const tools = new FakeResolver();
  const perStep: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const result = await executeGraph({
      agent,
      entryPoint: agent.entry_points[0]!,
      input: {},
      executionId: `exec_bench_${i}`,
      sessionId: `session_bench_${i}`,
      signal: new AbortController().signal,
      bus,
      store,
      state,
      tools,
      logger: silentLogger(),
    });
    const elapsed = performance.now() - started;
    if (result.status !== "completed" || result.output.n !== NODES) throw new Error(`run ${i}: ${result.status} ${JSON.stringify(result.error)}`);
    perStep.push(elapsed / NODES);
  }
  await store.flush();
  (globalThis as { gc?: () => void }).gc?.();
  console.error("heap_used_mb after gc", (process.memoryUsage().heapUsed / 1048576).toFixed(1));
  const warm = perStep.slice(Math.min(3, perStep.length - 1)).sort((a, b) => a - b);
  const median = warm[Math.floor(warm.length / 2)]!;
  console.log(
    JSON.stringify({
      nodes: NODES,
      runs,
      first_run_ms_per_step: +perStep[0]!.toFixed(4),
      median_ms_per_step: +median.toFixed(4),
      best_ms_per_step: +warm[0]!.toFixed(4),
      peak_rss_mb: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
    }),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
