/**
 * Runtime throughput: trigger-to-completion executions per second through
 * AgentRuntime (file storage on) for a 1-node function graph at
 * max_concurrent 1, 10 and 100, against a plain promise pool running the
 * same function at the same concurrency. Both sides are closed loops: N
 * workers, each triggering the next execution as soon as its last finished.
 *
 * And what storage costs: a 3-node function graph at max_concurrent 10 with
 * file storage, against the same graph in a runtime with in-memory stores,
 * measured in alternating rounds (the ratio is the target).
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { STEP_MODULE, oneNodeAgent, writeAgent } from "../lib/agents.mjs";
import { importDist, runScenario } from "../lib/scenario.mjs";

const LEVELS = [1, 10, 100];

await runScenario("runtime", async (ctx) => {
  const rounds = ctx.quick ? 2 : 5;
  // Rounds are timed, not counted: a slow build still finishes in bounded time.
  const roundMs = ctx.quick ? 500 : 2000;
  const { AgentRuntime, loadAgent, silentLogger } = await importDist("index.js");

  const dir = await ctx.tempDir("disk");
  const storage = await ctx.tempDir("disk");
  const entryPoints = LEVELS.map((n) => ({ id: `c${n}`, trigger_type: "api", max_concurrent: n, overlap: "queue", max_queued: 100_000 }));
  const file = await writeAgent(dir, oneNodeAgent("throughput", entryPoints));
  const agent = await loadAgent(file, { env: {}, cwd: dir });
  const runtime = new AgentRuntime({ agent, storagePath: storage, logger: silentLogger() });
  await runtime.start();
  ctx.defer(() => runtime.stop({ graceMs: 0 }));
  // The same runtime with in-memory stores: how much of the cost is storage.
  const memoryRuntime = new AgentRuntime({ agent, logger: silentLogger() });
  await memoryRuntime.start();
  ctx.defer(() => memoryRuntime.stop({ graceMs: 0 }));

  // A 3-node chain (count -> count -> count), file storage beside in-memory stores.
  const chainDir = await ctx.tempDir("disk");
  const chainFile = await writeAgent(chainDir, threeNodeAgent("chain", [{ id: "c10", trigger_type: "api", max_concurrent: 10, overlap: "queue", max_queued: 100_000 }]));
  const chainAgent = await loadAgent(chainFile, { env: {}, cwd: chainDir });
  const chainFileRuntime = new AgentRuntime({ agent: chainAgent, storagePath: await ctx.tempDir("disk"), logger: silentLogger() });
  await chainFileRuntime.start();
  ctx.defer(() => chainFileRuntime.stop({ graceMs: 0 }));
  const chainMemoryRuntime = new AgentRuntime({ agent: chainAgent, logger: silentLogger() });
  await chainMemoryRuntime.start();
  ctx.defer(() => chainMemoryRuntime.stop({ graceMs: 0 }));

  async function foragerRate(level, durationMs, rt = runtime, expectN = 1) {
    let completed = 0;
    const started = performance.now();
    const deadline = started + durationMs;
    const worker = async () => {
      while (performance.now() < deadline) {
        const id = await rt.trigger(`c${level}`, { i: completed });
        const result = await rt.waitForCompletion(id, { timeoutMs: 60_000 });
        if (result?.status !== "completed" || result.output?.n !== expectN) throw new Error(`execution ${id} ended ${result?.status ?? "(timeout)"} with output ${JSON.stringify(result?.output)}: ${JSON.stringify(result?.error)}`);
        completed++;
      }
    };
    await Promise.all(Array.from({ length: level }, worker));
    // Records still being written are part of the work.
    await rt.store.flush();
    return completed / ((performance.now() - started) / 1000);
  }

  const { default: step } = await import(pathToFileURL(join(dir, "step.mjs")).href);
  async function poolRate(level, minMs = 100) {
    let done = 0;
    const started = performance.now();
    let elapsed = 0;
    // Runs batches until the clock has something to measure: the bare pool is fast.
    while (elapsed < minMs) {
      let next = 0;
      const batch = 10_000;
      const worker = async () => {
        while (next < batch) {
          next++;
          const out = await step({ input: { i: next }, memory: { i: next }, state: {}, event: undefined, execution: {}, signal: undefined, log: undefined });
          if (out.n !== 1) throw new Error("pool miscounted");
        }
      };
      await Promise.all(Array.from({ length: level }, worker));
      done += batch;
      elapsed = performance.now() - started;
    }
    return done / (elapsed / 1000);
  }

  const results = Object.fromEntries(LEVELS.map((n) => [n, { forager: [], pool: [] }]));
  const inMemory = [];
  for (const level of LEVELS) await foragerRate(level, roundMs / 2); // warm-up
  await foragerRate(10, roundMs / 2, memoryRuntime);
  await foragerRate(10, roundMs / 2, chainFileRuntime, 3);
  await foragerRate(10, roundMs / 2, chainMemoryRuntime, 3);
  const chain = { file: [], memory: [] };
  for (let round = 0; round < rounds; round++) {
    for (const level of LEVELS) {
      results[level].forager.push(await foragerRate(level, roundMs));
      results[level].pool.push(await poolRate(level));
    }
    inMemory.push(await foragerRate(10, roundMs, memoryRuntime));
    // Alternating who goes first, so a drift in machine load hits both sides.
    const order = round % 2 === 0 ? ["file", "memory"] : ["memory", "file"];
    for (const side of order) chain[side].push(await foragerRate(10, roundMs, side === "file" ? chainFileRuntime : chainMemoryRuntime, 3));
  }
  ctx.log(`${rounds} rounds of ${roundMs} ms per level`);
  const stats = await runtime.getStats();
  for (const level of LEVELS) {
    const counts = stats.streams[`throughput/c${level}`]?.status_counts;
    if (counts && counts.failed > 0) throw new Error(`c${level}: ${counts.failed} executions failed`);
    ctx.compare({
      name: `exec/s at max_concurrent ${level} (storage on)`,
      unit: "exec/s",
      better: "higher",
      forager: results[level].forager,
      baseline: results[level].pool,
      baselineName: "promise pool",
      target: { text: ">= 25% of pool and >= 2000 exec/s", check: ({ forager, ratio }) => ratio >= 0.25 && forager >= 2000 },
    });
  }
  ctx.compare({
    name: "exec/s at max_concurrent 10, in-memory stores (no storage path)",
    unit: "exec/s",
    better: "higher",
    forager: inMemory,
    baseline: results[10].pool,
    baselineName: "promise pool",
  });
  const chainCounts = (await chainFileRuntime.getStats()).streams["chain/c10"]?.status_counts;
  if (chainCounts && chainCounts.failed > 0) throw new Error(`chain: ${chainCounts.failed} executions failed`);
  ctx.compare({
    name: "exec/s of a 3-node graph at max_concurrent 10, file storage vs in-memory stores",
    unit: "exec/s",
    better: "higher",
    forager: chain.file,
    baseline: chain.memory,
    baselineName: "same runtime, in-memory stores",
    target: { text: ">= 35% of in-memory", check: ({ ratio }) => ratio >= 0.35 },
  });
});

/** Three function nodes in a line, each adding one to `n`: the output is 3. */
function threeNodeAgent(name, entryPoints) {
  const nodes = ["a", "b", "c"].map((id) => ({ id, type: "function", module: STEP_MODULE, output_keys: ["n"] }));
  return {
    name,
    graph: { max_steps: 5, output_keys: ["n"], nodes, edges: [{ from: "a", to: "b" }, { from: "b", to: "c" }] },
    entry_points: entryPoints,
  };
}
