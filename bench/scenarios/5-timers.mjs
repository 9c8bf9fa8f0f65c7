/**
 * Timer accuracy: 100 timer entry points with 1-second intervals for 30 s
 * (quick: 10 timers, 5 s) in AgentRuntime with file storage, each firing a
 * 1-node function execution. Lateness = timer_fired's fired_at minus its
 * scheduled_at. Baseline: the same number of plain setTimeout chains in a
 * separate Node process, running at the same time.
 */
import { join } from "node:path";
import { oneNodeAgent, writeAgent } from "../lib/agents.mjs";
import { importDist, ROOT, runScenario, sleep } from "../lib/scenario.mjs";
import { percentile } from "../lib/stats.mjs";

await runScenario("timers", async (ctx) => {
  const count = ctx.quick ? 10 : 100;
  const durationS = ctx.quick ? 5 : 30;
  const { AgentRuntime, loadAgent, silentLogger } = await importDist("index.js");

  const dir = await ctx.tempDir("disk");
  const storage = await ctx.tempDir("disk");
  const entryPoints = Array.from({ length: count }, (_, i) => ({
    id: `t${i}`,
    trigger_type: "timer",
    // idle_timeout 0: fire every tick even while the agent is busy (its other timers keep it busy).
    trigger_config: { interval_seconds: 1, idle_timeout_seconds: 0 },
  }));
  const file = await writeAgent(dir, oneNodeAgent("timer-bench", entryPoints));
  const agent = await loadAgent(file, { env: {}, cwd: dir });
  const runtime = new AgentRuntime({ agent, storagePath: storage, logger: silentLogger() });

  const lateness = [];
  const skipped = [];
  runtime.subscribe((event) => {
    if (event.type === "timer_fired") lateness.push(Date.parse(event.data.fired_at) - Date.parse(event.data.scheduled_at));
    else if (event.type === "timer_skipped") skipped.push(event.data.reason);
  });

  const baseline = ctx.spawn(process.execPath, [join(ROOT, "bench", "helpers", "timer-baseline.mjs"), String(count), "1000", String(durationS * 1000)]);
  let baselineOut = "";
  baseline.stdout.on("data", (d) => (baselineOut += d.toString()));

  await runtime.start();
  ctx.defer(() => runtime.stop({ graceMs: 0 }));
  await sleep(durationS * 1000);
  await runtime.stop({ graceMs: 5000 });
  const { code } = await baseline.exited;
  if (code !== 0) throw new Error(`timer baseline exited ${code}: ${baseline.stderrText}`);
  const baseLateness = JSON.parse(baselineOut.trim().split("\n").pop()).lateness_ms;

  // No firing at all is a broken piece; fewer than expected is a result (a slow machine), reported not failed.
  if (lateness.length === 0) {
    throw new Error(`no timer_fired event from ${count} timers in ${durationS} s; skipped: ${skipped.length} (${[...new Set(skipped)].join(", ")})`);
  }
  const expected = count * (durationS - 1);
  if (lateness.length < expected) ctx.note(`${lateness.length} firings where about ${expected} were due`);
  if (skipped.length > 0) ctx.note(`${skipped.length} ticks were skipped (${[...new Set(skipped)].join(", ")})`);
  ctx.log(`${lateness.length} firings, baseline ${baseLateness.length}`);
  const baselineName = `${count} setTimeout chains`;
  const label = `${count} timers x 1 s for ${durationS} s, ${lateness.length} firings`;
  ctx.compare({ name: `timer lateness p50 (${label})`, unit: "ms", forager: [percentile(lateness, 50)], baseline: [percentile(baseLateness, 50)], baselineName, noRatio: true });
  ctx.compare({
    name: `timer lateness p99 (${label})`,
    unit: "ms",
    forager: [percentile(lateness, 99)],
    baseline: [percentile(baseLateness, 99)],
    baselineName,
    noRatio: true,
    target: { text: "p99 < 20 ms", check: ({ forager }) => forager < 20 },
  });
  ctx.compare({ name: `timer lateness max (${label})`, unit: "ms", forager: [Math.max(...lateness)], baseline: [Math.max(...baseLateness)], baselineName, noRatio: true });
});
