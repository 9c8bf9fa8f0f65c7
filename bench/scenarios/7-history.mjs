/**
 * Scale of history: 10 000 sessions on disk (quick: 1 000), written with
 * the library's FileSessionStore. Measures `forager sessions list` (whole
 * process) against a bare readdir of the sessions folder, and `GET /stats`
 * and `GET /executions?limit=20` on a `forager serve` over that storage
 * against GET on a bare node:http server. Also serve's start-up time.
 */
import { join } from "node:path";
import { oneNodeAgent, writeAgent } from "../lib/agents.mjs";
import { startHelper, startServe, timeCommand } from "../lib/proc.mjs";
import { BIN, importDist, ROOT, runScenario } from "../lib/scenario.mjs";
import { percentile } from "../lib/stats.mjs";

const AGENT = "history-bench";

function record(i, startMs, ids) {
  const started = startMs + i * 1000;
  const executionId = ids.newExecutionId(started);
  const sessionId = ids.newSessionId(started);
  const iso = (ms) => new Date(ms).toISOString();
  return {
    schema_version: 1,
    execution_id: executionId,
    session_id: sessionId,
    agent: AGENT,
    entry_point: "api",
    status: i % 10 === 0 ? "failed" : "completed",
    success: i % 10 !== 0,
    output: i % 10 === 0 ? {} : { n: 1, summary: `execution ${i}` },
    error: i % 10 === 0 ? { code: "node_failed", message: "the node failed", node_id: "count" } : null,
    path: ["count"],
    steps_executed: 1,
    usage: { llm_calls: 0, tool_calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 },
    started_at: iso(started),
    finished_at: iso(started + 40),
    duration_ms: 40,
    input: { i },
    queued_at: iso(started - 5),
  };
}

async function timeRequests(url, headers, count) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const res = await fetch(url, { headers });
    const body = await res.text();
    times.push(performance.now() - started);
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${body.slice(0, 300)}`);
  }
  return times;
}

await runScenario("history", async (ctx) => {
  const sessions = ctx.quick ? 500 : 10_000;
  const rounds = ctx.quick ? 3 : 10;
  const requests = ctx.quick ? 50 : 300;
  const [{ FileSessionStore }, ids] = await Promise.all([importDist("storage/index.js"), importDist("util/ids.js")]);

  const storage = await ctx.tempDir("disk");
  const generateStarted = performance.now();
  {
    const store = new FileSessionStore(storage);
    await store.init();
    const startMs = Date.now() - sessions * 1000;
    // One at a time: this is set-up, not the thing measured.
    for (let i = 0; i < sessions; i++) {
      const rec = record(i, startMs, ids);
      await store.save(rec);
      await store.appendEvents(AGENT, rec.session_id, [
        { id: ids.newEventId(), type: "execution_started", timestamp: rec.started_at, graph_id: AGENT, stream_id: "api", execution_id: rec.execution_id, session_id: rec.session_id, node_id: null, correlation_id: null, data: {} },
        { id: ids.newEventId(), type: "execution_completed", timestamp: rec.finished_at, graph_id: AGENT, stream_id: "api", execution_id: rec.execution_id, session_id: rec.session_id, node_id: null, correlation_id: null, data: {} },
      ]);
    }
    await store.flush();
  }
  ctx.log(`${sessions} sessions written in ${((performance.now() - generateStarted) / 1000).toFixed(1)} s`);

  // sessions list: whole process, against a bare readdir.
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1" };
  const list = [];
  const bare = [];
  const listArgs = [BIN, "sessions", "list", "--storage", storage];
  const first = timeCommand(process.execPath, listArgs, { env });
  const listed = first.stdout.trim().split("\n").length - 1; // minus the header
  if (listed < 1 || !first.stdout.includes(AGENT)) throw new Error(`forager sessions list printed no sessions: ${first.stdout.slice(0, 300)}`);
  for (let round = 0; round < rounds; round++) {
    list.push(timeCommand(process.execPath, listArgs, { env }).wallMs);
    bare.push(timeCommand(process.execPath, [join(ROOT, "bench", "helpers", "list-baseline.mjs"), storage, AGENT], { env }).wallMs);
  }
  ctx.compare({ name: `forager sessions list (prints ${listed}), ${sessions.toLocaleString("en-US")} sessions`, unit: "ms", forager: list, baseline: bare, baselineName: "node readdir of the sessions folder" });

  // serve over that storage: start-up, /stats, /executions.
  const dir = await ctx.tempDir("disk");
  const file = await writeAgent(dir, oneNodeAgent(AGENT, [{ id: "api", trigger_type: "api" }]));
  const serveStarted = performance.now();
  const { info } = await startServe(ctx, [file], storage);
  const startupMs = performance.now() - serveStarted;
  const { info: bareServer } = await startHelper(ctx, "bare-http-server.mjs");
  const auth = { authorization: `Bearer ${info.token}` };
  const stats = await (await fetch(`${info.url}/stats`, { headers: auth })).json();
  if (typeof stats.running !== "boolean") throw new Error(`GET /stats returned ${JSON.stringify(stats).slice(0, 300)}`);
  const recent = await (await fetch(`${info.url}/executions?limit=20`, { headers: auth })).json();
  const recentCount = Array.isArray(recent) ? recent.length : Array.isArray(recent?.executions) ? recent.executions.length : -1;
  if (recentCount !== 20) throw new Error(`GET /executions?limit=20 returned ${JSON.stringify(recent).slice(0, 300)}`);

  const bareUrl = `http://127.0.0.1:${bareServer.port}/stats`;
  await timeRequests(`${info.url}/stats`, auth, 20);
  await timeRequests(bareUrl, {}, 20);
  const statsTimes = await timeRequests(`${info.url}/stats`, auth, requests);
  const execTimes = await timeRequests(`${info.url}/executions?limit=20`, auth, requests);
  const bareTimes = await timeRequests(bareUrl, {}, requests);
  const label = `${sessions.toLocaleString("en-US")} sessions on disk`;
  const baselineName = "GET on bare node:http";
  ctx.compare({ name: `GET /stats p50, ${label}`, unit: "ms", forager: [percentile(statsTimes, 50)], baseline: [percentile(bareTimes, 50)], baselineName });
  ctx.compare({ name: `GET /stats p99, ${label}`, unit: "ms", forager: [percentile(statsTimes, 99)], baseline: [percentile(bareTimes, 99)], baselineName });
  ctx.compare({ name: `GET /executions?limit=20 p50, ${label}`, unit: "ms", forager: [percentile(execTimes, 50)], baseline: [percentile(bareTimes, 50)], baselineName });
  ctx.compare({ name: `forager serve start-up to serve.json, ${label}`, unit: "ms", forager: [startupMs] });
});
