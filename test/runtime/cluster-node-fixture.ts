// A cluster node in a process of its own, for tests that kill one with
// SIGKILL: it serves the agent the test names, admits one execution of
// `api` itself, and prints one JSON line per execution it starts
// ({"started": id, "attempt": n}); executions hold until the process dies.
// Usage: node --import tsx cluster-node-fixture.ts <redis url> <prefix> <lock s> <check s> <retries>
import { silentLogger } from "../../src/logging/index.js";
import { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import { createBackend } from "../../src/runtime/backend.js";
import { systemClock } from "../../src/util/clock.js";
import { plainAgent } from "./helpers.js";

const [url, prefix, lock, check, retries] = process.argv.slice(2);
const config = {
  max_concurrent_executions: 10,
  execution_result_max: 100,
  cache_ttl: 60,
  backend: "redis" as const,
  redis_url: url!,
  redis_prefix: prefix!,
  worker_loss: { lock_seconds: Number(lock), check_seconds: Number(check), retries: Number(retries) },
};
const backend = createBackend(config, { clock: systemClock, logger: silentLogger() });
const runtime = new AgentRuntime({
  agent: plainAgent("lossy", [{ id: "api", trigger_type: "api", max_concurrent: 2 }]),
  backend,
  config: { max_concurrent_executions: 10 },
  execute: async (o) => {
    process.stdout.write(`${JSON.stringify({ started: o.executionId, attempt: o.attempt })}\n`);
    return new Promise(() => {});
  },
});
await runtime.start();
const id = await runtime.trigger("api", { from: "child" });
process.stdout.write(`${JSON.stringify({ admitted: id })}\n`);
