// Benchmark (not a test): signed 2 KB GitHub webhooks per second through
// `forager serve` (verification + dedup + ingest on disk) against a bare
// node:http server that reads the body and answers 202; then the idle RSS
// of `serve`. Loopback only, bounded in time. Needs a built dist/.
//   node test/server/bench-webhooks.mjs [seconds]
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
const seconds = Number(process.argv[2] ?? 10);
const secret = "bench-secret-value";
// "edited" does not match the agent's `when` filter: each delivery is
// verified, de-duplicated and recorded, but starts no execution.
const payload = JSON.stringify({ action: "edited", issue: { title: "x", body: "y".repeat(1900) } });
const signature = `sha256=${createHmac("sha256", secret).update(payload).digest("hex")}`;

function run(url) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        method: "POST",
        connections: 10,
        duration: seconds,
        headers: { "content-type": "application/json", "x-github-event": "issues" },
        body: payload,
        requests: [
          {
            // Both servers get the same requests (a fresh delivery id each),
            // so the client's own cost is the same on both sides.
            setupRequest: (req) => ({ ...req, headers: { ...req.headers, "x-github-delivery": randomUUID(), "x-hub-signature-256": signature } }),
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    autocannon.track(instance, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false });
  });
}

const bare = createServer((req, res) => {
  req.on("data", () => {});
  req.on("end", () => {
    res.writeHead(202, { "content-type": "application/json" });
    res.end('{"status":"accepted"}');
  });
});
await new Promise((r) => bare.listen(0, "127.0.0.1", r));
const bareResult = await run(`http://127.0.0.1:${bare.address().port}/webhooks/github`);
await new Promise((r) => bare.close(r));

const storage = await mkdtemp(join(tmpdir(), "forager-bench-"));
const nodeFlags = process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(" ") : [];
const child = spawn(process.execPath, [...nodeFlags, join(root, "bin/forager.js"), "serve", join(root, "agents/issue-triage.yaml"), "--storage", storage], {
  env: { PATH: process.env.PATH, GITHUB_WEBHOOK_SECRET: secret, WEBHOOK_PORT: "0", LOG_FORMAT: "json", LOG_LEVEL: "warn" },
  stdio: ["ignore", "ignore", "inherit"],
});
try {
  for (let i = 0; i < 200 && !existsSync(join(storage, "serve.json")); i++) await new Promise((r) => setTimeout(r, 50));
  const info = JSON.parse(await readFile(join(storage, "serve.json"), "utf8"));
  await new Promise((r) => setTimeout(r, 2000));
  const rssMb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))[1]) / 1024;
  const served = await run(`${info.webhook_url}/webhooks/github`);
  const codes = served.statusCodeStats ?? {};
  console.log(JSON.stringify({
    seconds,
    bare_rps: Math.round(bareResult.requests.average),
    forager_rps: Math.round(served.requests.average),
    ratio: Number((served.requests.average / bareResult.requests.average).toFixed(3)),
    forager_p99_ms: served.latency.p99,
    forager_status_codes: Object.fromEntries(Object.entries(codes).map(([k, v]) => [k, v.count])),
    non2xx: served.non2xx,
    idle_rss_mb: Number(rssMb.toFixed(1)),
  }, null, 2));
} finally {
  child.kill("SIGTERM");
  await new Promise((r) => child.on("exit", r));
  await rm(storage, { recursive: true, force: true });
}
