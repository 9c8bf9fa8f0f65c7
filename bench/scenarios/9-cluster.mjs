/**
 * The cluster (runtime.backend: redis, SPEC 9): a 1-node function agent
 * served by 1, 2 and 3 `forager serve` processes on one redis-server,
 * beside one `serve` on the file backend measured in the same run.
 *
 * - Throughput and latency: a closed loop of CLIENTS HTTP clients, each
 *   sending `trigger {"wait": true}` to the nodes in turn and the next one
 *   as soon as its answer (the finished result) is back. exec/s is
 *   executions over the round's wall time; p50/p99 are trigger-to-completion
 *   times as the client sees them.
 * - Takeover: an execution holds in its function (a gate file) on the only
 *   node, two more nodes join, the first is killed with SIGKILL; the time
 *   from the kill to the execution's second start on another node, at the
 *   default worker_loss (lock 10 s, check 5 s).
 *
 * Only in a full run (`npm run bench`), not `--quick`: it needs redis-server
 * (Debian's package) and a minute. Without redis-server it is skipped with a note.
 */
import { spawnSync } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { STEP_MODULE, oneNodeAgent } from "../lib/agents.mjs";
import { startServe, until } from "../lib/proc.mjs";
import { runScenario } from "../lib/scenario.mjs";
import { percentile } from "../lib/stats.mjs";

const CLIENTS = 20;
const TOKEN = "bench-cluster-token";

/** A function module whose `held` export records each start (pid, ms) and waits for the gate file. */
const HELD_SOURCE = [
  'import { appendFileSync, existsSync } from "node:fs";',
  "export default function step() { return { n: 1 }; }",
  "export async function held({ signal }) {",
  '  appendFileSync(new URL("./starts.log", import.meta.url), `${process.pid} ${Date.now()}\\n`);',
  '  const gate = new URL("./gate.open", import.meta.url);',
  "  while (!existsSync(gate) && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 20));",
  "  return { n: 1 };",
  "}",
  "",
].join("\n");

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A redis-server of this scenario's own (appendonly, everysec), stopped at cleanup. */
async function startRedis(ctx) {
  const dir = await ctx.tempDir("disk");
  const port = await freePort();
  const child = ctx.spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", dir, "--daemonize", "no", "--maxmemory-policy", "noeviction"]);
  const url = `redis://127.0.0.1:${port}/0`;
  await until(() => (spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" }).stdout?.trim() === "PONG" ? true : undefined), "redis-server to answer", 15_000, child);
  return { child, url, port };
}

/** Closed-loop load over `nodes` for `roundMs`: exec/s and trigger-to-completion latencies. */
async function load(nodes, roundMs) {
  const latencies = [];
  const deadline = performance.now() + roundMs;
  const started = performance.now();
  let failures = 0;
  let turn = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < deadline) {
        const node = nodes[turn++ % nodes.length];
        const t0 = performance.now();
        const res = await fetch(`${node.url}/agents/bench/entry-points/api/trigger`, {
          method: "POST",
          headers: { authorization: `Bearer ${node.token}`, "content-type": "application/json" },
          body: JSON.stringify({ input: {}, wait: true, timeout: 60 }),
        });
        const body = await res.json();
        if (res.status !== 200 || body.status !== "completed") {
          failures++;
          if (failures > 10) throw new Error(`triggers fail: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
          continue;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { rate: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), count: latencies.length };
}

await runScenario("cluster", async (ctx) => {
  if (spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status !== 0) {
    ctx.note("skipped: redis-server is not installed (apt-get install redis-server)");
    ctx.skip();
    return;
  }
  const rounds = 3;
  const roundMs = 3_000;
  const redis = await startRedis(ctx);
  const dir = await ctx.tempDir("disk");
  await writeFile(join(dir, STEP_MODULE), HELD_SOURCE);
  const agentFor = async (name, backend, prefix, extra = {}) => {
    const runtime = { control_port: 0, max_concurrent_executions: 100, ...(backend === "redis" ? { backend: "redis", redis_prefix: prefix } : {}), ...extra };
    const agent = oneNodeAgent("bench", [
      { id: "api", trigger_type: "api", max_concurrent: 10, max_queued: 100_000 },
      { id: "held", trigger_type: "api", max_concurrent: 1, overlap: "queue" },
    ], { runtime });
    agent.graph.nodes.push({ id: "hold", type: "function", module: STEP_MODULE, export: "held", output_keys: ["n"] });
    agent.entry_points[1].entry_node = "hold";
    agent.graph.output_keys = ["n"];
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, JSON.stringify(agent, null, 2));
    return file;
  };
  const env = { FORAGER_TOKEN: TOKEN, FORAGER_REDIS_URL: redis.url };
  const serveNodes = async (file, count) => {
    const nodes = [];
    for (let i = 0; i < count; i++) {
      const storage = await ctx.tempDir("disk");
      const { child, info } = await startServe(ctx, [file], storage, env);
      nodes.push({ child, url: info.url, token: info.token });
    }
    return nodes;
  };
  const stopNodes = async (nodes) => {
    for (const node of nodes) await ctx.killChild(node.child, 20_000);
  };

  // Throughput: the file backend, then 1, 2, 3 nodes on Redis, each in a fresh prefix.
  const results = {};
  const fileAgent = await agentFor("file", "file");
  {
    const nodes = await serveNodes(fileAgent, 1);
    await load(nodes, 500); // warm-up
    results.file = [];
    for (let r = 0; r < rounds; r++) results.file.push(await load(nodes, roundMs));
    await stopNodes(nodes);
  }
  for (const count of [1, 2, 3]) {
    const file = await agentFor(`redis${count}`, "redis", `bench${count}`);
    const nodes = await serveNodes(file, count);
    await load(nodes, 500);
    results[count] = [];
    for (let r = 0; r < rounds; r++) results[count].push(await load(nodes, roundMs));
    await stopNodes(nodes);
  }
  const base = results.file;
  for (const count of [1, 2, 3]) {
    const own = results[count];
    const label = `${count} node${count === 1 ? "" : "s"}`;
    ctx.compare({ name: `exec/s, ${label} on Redis`, unit: "exec/s", better: "higher", forager: own.map((x) => x.rate), baseline: base.map((x) => x.rate), baselineName: "1 serve, file backend" });
    ctx.compare({ name: `p50 trigger-to-completion, ${label}`, unit: "ms", forager: own.map((x) => x.p50), baseline: base.map((x) => x.p50), baselineName: "1 serve, file backend" });
    ctx.compare({ name: `p99 trigger-to-completion, ${label}`, unit: "ms", forager: own.map((x) => x.p99), baseline: base.map((x) => x.p99), baselineName: "1 serve, file backend" });
  }

  // Takeover after kill -9, at the default worker_loss.
  const takeovers = [];
  const heldFile = await agentFor("held", "redis", "benchkill");
  const startsLog = join(dir, "starts.log");
  for (let r = 0; r < 2; r++) {
    await writeFile(startsLog, "");
    const [first] = await serveNodes(heldFile, 1);
    const res = await fetch(`${first.url}/agents/bench/entry-points/held/trigger`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ input: {} }),
    });
    if (res.status !== 202) throw new Error(`held trigger: ${res.status} ${await res.text()}`);
    await until(async () => ((await readFile(startsLog, "utf8")).trim() ? true : undefined), "the held execution to start", 20_000);
    const others = await serveNodes(heldFile, 2);
    const killedAt = Date.now();
    first.child.kill("SIGKILL");
    await first.child.exited;
    const second = await until(async () => {
      const lines = (await readFile(startsLog, "utf8")).trim().split("\n");
      return lines.length >= 2 ? Number(lines[1].split(" ")[1]) : undefined;
    }, "another node to take the execution over", 60_000);
    takeovers.push(second - killedAt);
    await writeFile(join(dir, "gate.open"), "");
    await stopNodes(others);
    await rm(join(dir, "gate.open"), { force: true });
  }
  ctx.compare({ name: "takeover after kill -9 (lock 10 s, check 5 s)", unit: "ms", forager: takeovers });
  ctx.note("2 cores run every serve process, the clients and redis-server: more nodes add coordination but no cores, so this shows the cost of the cluster, not its scaling");
});
