/**
 * Webhook ingestion: signed 2 KB GitHub-style deliveries per second with
 * autocannon (10 connections, every request its own X-GitHub-Delivery id
 * and signature) through `forager serve`, against a bare node:http server
 * that answers 202 after reading the body. Also p50/p99 latency.
 *
 * The route has no matching event entry point: this measures ingestion
 * (verify, dedup, event on disk, 202), not executions.
 */
import { createHmac, randomBytes } from "node:crypto";
import autocannon from "autocannon";
import { oneNodeAgent, writeAgent } from "../lib/agents.mjs";
import { startHelper, startServe } from "../lib/proc.mjs";
import { runScenario } from "../lib/scenario.mjs";

const SECRET = "bench-webhook-secret";
const PATH = "/webhooks/github";
const CONNECTIONS = 10;

/** A GitHub "issues opened" delivery padded to 2 KB, carrying its delivery id. */
function payload(id) {
  const base = {
    action: "opened",
    issue: { number: 1, title: `Benchmark issue ${id}`, body: "", user: { login: "octocat", id: 583231 }, labels: [], state: "open" },
    repository: { id: 1296269, full_name: "octocat/Hello-World", private: false },
    sender: { login: "octocat", id: 583231, type: "User" },
    delivery: id,
  };
  const size = Buffer.byteLength(JSON.stringify(base));
  base.issue.body = "x".repeat(Math.max(0, 2048 - size));
  return JSON.stringify(base);
}

/** Runs autocannon for `length` (seconds, or `{amount}` requests); every request gets a fresh delivery id and signature. */
async function load(url, length, prefix) {
  let n = 0;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    ...(typeof length === "number" ? { duration: length } : length),
    requests: [
      {
        method: "POST",
        path: PATH,
        setupRequest(request) {
          const id = `${prefix}-${++n}`;
          const body = payload(id);
          request.body = body;
          request.headers = {
            "content-type": "application/json",
            "x-github-event": "issues",
            "x-github-delivery": id,
            "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
          };
          return request;
        },
      },
    ],
  });
  const codes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]));
  const accepted = codes["202"] ?? 0;
  const other = Object.entries(codes).filter(([code]) => code !== "202");
  // Another status is a bug (a duplicate id, a bad signature); a timeout on a slow machine is a result.
  if (accepted === 0 || other.length > 0) {
    throw new Error(`${url}: expected only 202 answers, got ${JSON.stringify(codes)} and ${result.errors} errors (${result.timeouts} timeouts)`);
  }
  return { rate: accepted / result.duration, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors };
}

await runScenario("webhooks", async (ctx) => {
  const rounds = ctx.quick ? 2 : 3;
  const seconds = ctx.quick ? 1 : 6;
  const dir = await ctx.tempDir("disk");
  const storage = await ctx.tempDir("disk");
  const agent = oneNodeAgent("webhook-bench", [{ id: "api", trigger_type: "api" }], {
    runtime: { webhook_routes: [{ source_id: "github", path: PATH, secret: "${GITHUB_WEBHOOK_SECRET}", verify: "github" }] },
  });
  const file = await writeAgent(dir, agent);
  const { info } = await startServe(ctx, [file], storage, { GITHUB_WEBHOOK_SECRET: SECRET });
  if (!info.webhook_url) throw new Error(`serve.json has no webhook_url: ${JSON.stringify(info)}`);
  const { info: bare } = await startHelper(ctx, "bare-http-server.mjs");
  const bareUrl = `http://127.0.0.1:${bare.port}`;

  const run = randomBytes(4).toString("hex");
  await load(info.webhook_url, { amount: 500 }, `warm-${run}`);
  await load(bareUrl, { amount: 500 }, `warm-${run}`);
  const f = { rate: [], p50: [], p99: [] };
  const b = { rate: [], p50: [], p99: [] };
  for (let round = 0; round < rounds; round++) {
    // Alternate who goes first: neither side always gets the fresher machine.
    const sides = round % 2 === 0 ? [[info.webhook_url, f], [bareUrl, b]] : [[bareUrl, b], [info.webhook_url, f]];
    for (const [url, into] of sides) {
      const r = await load(url, seconds, `r${round}-${run}`);
      into.rate.push(r.rate);
      into.p50.push(r.p50);
      into.p99.push(r.p99);
      if (r.errors > 0) ctx.note(`${r.errors} requests to ${url === bareUrl ? "the baseline" : "forager"} ended in errors or timeouts in round ${round + 1}`);
    }
  }
  ctx.log(`${rounds} rounds of ${seconds} s per side, ${CONNECTIONS} connections`);
  const baselineName = "bare node:http, 202 after body";
  ctx.compare({
    name: "signed 2 KB deliveries/s",
    unit: "req/s",
    better: "higher",
    forager: f.rate,
    baseline: b.rate,
    baselineName,
    // Issue 15 raised it from 40%.
    target: { text: ">= 50% of bare node:http", check: ({ ratio }) => ratio >= 0.5 },
  });
  ctx.compare({ name: "delivery latency p50", unit: "ms", forager: f.p50, baseline: b.p50, baselineName });
  ctx.compare({ name: "delivery latency p99", unit: "ms", forager: f.p99, baseline: b.p99, baselineName });
});
