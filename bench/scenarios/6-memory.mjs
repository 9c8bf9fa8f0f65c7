/**
 * Memory (run with --expose-gc):
 * - RSS of an idle `forager serve agents/issue-triage.yaml` against an idle
 *   bare node:http server;
 * - heap and RSS growth per 1000 queued executions (AgentRuntime, file
 *   storage, one execution held running so the rest wait) against a plain
 *   array of pending jobs;
 * - growth from 10 000 to 100 000 completed executions (quick: 1 000 to
 *   5 000) with execution_result_max 1000, measured after gc: once with a
 *   store that keeps nothing (the runtime alone) and once with file storage
 *   on tmpfs for a shorter run (what the session store adds per execution).
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { oneNodeAgent, openGate, writeAgent } from "../lib/agents.mjs";
import { DiscardSessionStore } from "../lib/discard-store.mjs";
import { rssMb, startHelper, startServe } from "../lib/proc.mjs";
import { importDist, ROOT, runScenario, sleep } from "../lib/scenario.mjs";
import { median } from "../lib/stats.mjs";

const MB = 1024 * 1024;

function gc() {
  if (!globalThis.gc) throw new Error("run with --expose-gc: memory growth is measured after a full gc");
  for (let i = 0; i < 3; i++) globalThis.gc();
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Heap and RSS after a full gc, once the event loop has run its pending callbacks (bus deliveries). */
async function sample() {
  for (let i = 0; i < 5; i++) await tick();
  gc();
  const m = process.memoryUsage();
  return { heapMb: m.heapUsed / MB, rssMb: m.rss / MB };
}

async function idleRss(pid, samples = 5) {
  const values = [];
  for (let i = 0; i < samples; i++) {
    values.push(rssMb(pid));
    await sleep(200);
  }
  return median(values);
}

await runScenario("memory", async (ctx) => {
  // The stores and the bus are internal (not exported by the library): the bench reaches them in dist/ directly.
  const [{ AgentRuntime, loadAgent, silentLogger }, { EventBus }, { MemoryStateStore, MemoryKeyStore }] = await Promise.all([
    importDist("index.js"),
    importDist("events/bus.js"),
    importDist("storage/index.js"),
  ]);
  const phase = (() => {
    let last = performance.now();
    return (what) => {
      const now = performance.now();
      ctx.log(`${what}: ${((now - last) / 1000).toFixed(1)} s`);
      last = now;
    };
  })();

  // ---- idle serve
  const serveRounds = ctx.quick ? 1 : 3;
  const settleMs = ctx.quick ? 1000 : 3000;
  const serveRss = [];
  const bareRss = [];
  for (let round = 0; round < serveRounds; round++) {
    const storage = await ctx.tempDir("disk");
    const { child } = await startServe(ctx, [join(ROOT, "agents", "issue-triage.yaml")], storage, { GITHUB_WEBHOOK_SECRET: "bench-secret" });
    const { child: bare } = await startHelper(ctx, "bare-http-server.mjs");
    await sleep(settleMs);
    serveRss.push(await idleRss(child.pid));
    bareRss.push(await idleRss(bare.pid));
    await Promise.all([ctx.killChild(child, 15_000), ctx.killChild(bare)]);
  }
  phase("idle serve");
  ctx.compare({
    name: "idle serve RSS (agents/issue-triage.yaml)",
    unit: "MB",
    forager: serveRss,
    baseline: bareRss,
    baselineName: "idle bare node:http",
    target: { text: "< 90 MB", check: ({ forager }) => forager < 90 },
  });

  const dir = await ctx.tempDir("disk");
  const file = await writeAgent(
    dir,
    oneNodeAgent(
      "memory-bench",
      [
        { id: "gated", trigger_type: "api", max_concurrent: 1, overlap: "queue", max_queued: 1_000_000 },
        { id: "api", trigger_type: "api", max_concurrent: 10, overlap: "queue", max_queued: 1_000_000 },
      ],
      { runtime: { execution_result_max: 1000 } },
    ),
  );
  // Two graphs would need two files; the gated entry point uses the same node, told apart by input.
  const agent = await loadAgent(file, { env: {}, cwd: dir });
  const { default: step } = await import(pathToFileURL(join(dir, "step.mjs")).href);

  // ---- queued executions
  const queued = ctx.quick ? 500 : 5000;
  {
    const storage = await ctx.tempDir("disk");
    // The node waits on a gate (a file in the agent's folder): one execution runs, the rest queue behind it.
    const gatedAgent = { ...agent, graph: { ...agent.graph, nodes: agent.graph.nodes.map((n) => ({ ...n, export: "gated" })) } };
    const runtime = new AgentRuntime({ agent: gatedAgent, storagePath: storage, logger: silentLogger() });
    await runtime.start();
    ctx.defer(() => runtime.stop({ graceMs: 0 }));
    await runtime.trigger("gated", { i: -1 });
    for (let i = 0; i < 200; i++) await runtime.trigger("gated", { i, note: "warm-up" });
    const before = await sample();
    for (let i = 0; i < queued; i++) await runtime.trigger("gated", { i, note: "a small input like a real trigger's" });
    const after = await sample();
    const stats = await runtime.getStats();
    if (stats.queued_executions < queued) throw new Error(`expected ${queued} queued executions, stats say ${stats.queued_executions}`);
    await openGate(dir);
    await runtime.stop({ graceMs: 0 });

    // Baseline: the same number of pending jobs in a plain array.
    const jobs = [];
    const baseBefore = await sample();
    for (let i = 0; i < queued; i++) {
      let resolve;
      const done = new Promise((r) => (resolve = r));
      jobs.push({ id: `job_${i}`, input: { i, note: "a small input like a real trigger's" }, done, resolve, queuedAt: Date.now() });
    }
    const baseAfter = await sample();
    const per1000 = (a, b) => ((b - a) / queued) * 1000;
    ctx.compare({
      name: `heap growth per 1000 queued executions (${queued} queued, file storage)`,
      unit: "MB",
      forager: [per1000(before.heapMb, after.heapMb)],
      baseline: [per1000(baseBefore.heapMb, baseAfter.heapMb)],
      baselineName: "array of pending jobs",
    });
    ctx.compare({
      name: `RSS growth per 1000 queued executions (${queued} queued, file storage)`,
      unit: "MB",
      forager: [per1000(before.rssMb, after.rssMb)],
      baseline: [per1000(baseBefore.rssMb, baseAfter.rssMb)],
      baselineName: "array of pending jobs",
      noRatio: true,
    });
    jobs.length = 0;
    phase("queued executions");
  }

  // ---- many completed executions
  /** Closed loop of 10 workers: stops after `count` executions or at `deadline` (performance.now()), whichever comes first. */
  async function completeMany(runtime, count, deadline = Infinity) {
    let started = 0;
    const worker = async () => {
      while (started < count && performance.now() < deadline) {
        started++;
        const id = await runtime.trigger("api", { i: started });
        const result = await runtime.waitForCompletion(id, { timeoutMs: 60_000 });
        if (result?.status !== "completed") throw new Error(`execution ${id}: ${result?.status ?? "timeout"} ${JSON.stringify(result?.error)}`);
        // Real triggers arrive as I/O callbacks; a loop of pure promise hops would never let the bus deliver.
        await tick();
      }
    };
    await Promise.all(Array.from({ length: 10 }, worker));
    return started;
  }
  async function poolMany(count) {
    let started = 0;
    const worker = async () => {
      while (started < count) {
        started++;
        await step({ input: { i: started }, memory: { i: started }, state: {} });
        await tick();
      }
    };
    await Promise.all(Array.from({ length: 10 }, worker));
  }

  /** Heap and RSS growth between the sample after `warm` executions and the end (`total` more, or until `seconds` pass). */
  async function growth(label, options, warm, total, seconds = Infinity) {
    // Quick mode shrinks the bus's event history (default 10 000) so a short warm-up fills it.
    const bus = ctx.quick ? new EventBus({ historySize: 1000 }) : undefined;
    const runtime = new AgentRuntime({ agent, logger: silentLogger(), state: new MemoryStateStore(), keys: new MemoryKeyStore(), bus, ...options });
    await runtime.start();
    ctx.defer(() => runtime.stop({ graceMs: 0 }));
    const started = performance.now();
    await completeMany(runtime, warm);
    await runtime.store.flush();
    const warmSample = await sample();
    const measured = await completeMany(runtime, total - warm, performance.now() + seconds * 1000);
    await runtime.store.flush();
    const endSample = await sample();
    const elapsed = (performance.now() - started) / 1000;
    await runtime.stop({ graceMs: 0 });
    phase(`${label}: ${warm} + ${measured} executions (${((warm + measured) / elapsed).toFixed(0)} exec/s)`);
    return { measured, heap: endSample.heapMb - warmSample.heapMb, rss: endSample.rssMb - warmSample.rssMb, endRss: endSample.rssMb };
  }

  // Warm-up fills the bus's event history ring (about six events per execution) and the results cache.
  const total = ctx.quick ? 3000 : 100_000;
  const warm = ctx.quick ? 1000 : 10_000;
  const runtimeOnly = await growth("runtime only", { store: new DiscardSessionStore() }, warm, total);
  const baseBefore = await sample();
  await poolMany(total - warm);
  const baseAfter = await sample();
  const label = `${warm.toLocaleString("en-US")} -> ${total.toLocaleString("en-US")} executions, execution_result_max 1000`;
  ctx.compare({
    name: `heap growth after gc, ${label}, no session store`,
    unit: "MB",
    forager: [runtimeOnly.heap],
    baseline: [baseAfter.heapMb - baseBefore.heapMb],
    baselineName: "promise pool, same function",
    noRatio: true,
    target: { text: "flat: < 2 MB", check: ({ forager }) => forager < 2 },
  });
  ctx.compare({
    name: `RSS growth, ${label}, no session store`,
    unit: "MB",
    forager: [runtimeOnly.rss],
    baseline: [baseAfter.rssMb - baseBefore.rssMb],
    baselineName: "promise pool, same function",
    noRatio: true,
  });
  ctx.compare({ name: `RSS after ${total.toLocaleString("en-US")} executions, no session store (process also ran the cases above)`, unit: "MB", forager: [runtimeOnly.endRss] });

  if (runtimeOnly.measured !== total - warm) throw new Error(`only ${runtimeOnly.measured} of ${total - warm} executions ran`);

  // File storage is slow enough per execution that 100 000 would not fit the time budget: a timed run shows the slope.
  const fileWarm = ctx.quick ? 400 : 2000;
  const tmpfs = await ctx.tempDir("tmpfs");
  const withFiles = await growth("file storage", { storagePath: tmpfs }, fileWarm, Infinity, ctx.quick ? 3 : 30);
  const perThousand = (withFiles.heap / withFiles.measured) * 1000;
  ctx.compare({
    name: `heap growth after gc per 1000 completed executions, file storage on tmpfs (${fileWarm} -> ${fileWarm + withFiles.measured})`,
    unit: "MB",
    forager: [perThousand],
    baseline: [((baseAfter.heapMb - baseBefore.heapMb) / (total - warm)) * 1000],
    baselineName: "promise pool, same function",
    noRatio: true,
    target: { text: "flat: < 0.02 MB per 1000 (2 MB per 100 000)", check: ({ forager }) => forager < 0.02 },
  });
});
