// A cluster node in a process of its own, for tests that kill one with
// SIGKILL: it serves the agent the test names, admits one execution of
// `api` itself, and prints one JSON line per execution it starts
// ({"started": id, "attempt": n}); executions hold until the process dies.
// Its stores are the Redis ones, so the other nodes see its records.
// Usage: node --import tsx cluster-node-fixture.ts <redis url> <prefix> <lock s> <check s> <retries>
import { silentLogger } from "../../src/logging/index.js";
import { AgentRuntime } from "../../src/runtime/agent-runtime.js";
import { createBackend } from "../../src/runtime/backend.js";
import { emptyUsage } from "../../src/result.js";
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
    const startedAt = new Date().toISOString();
    // As the executor does: the running record first (the node's store adds attempt and node).
    await o.store?.save({
      schema_version: 1,
      execution_id: o.executionId,
      session_id: o.sessionId,
      agent: o.agent.name,
      entry_point: o.entryPoint.id,
      status: "running",
      success: false,
      output: {},
      error: null,
      path: [],
      steps_executed: 0,
      usage: emptyUsage(),
      started_at: startedAt,
      finished_at: null,
      duration_ms: null,
      input: o.input,
      queued_at: o.queuedAt ?? startedAt,
    });
    process.stdout.write(`${JSON.stringify({ started: o.executionId, attempt: o.attempt, node: backend.nodeId })}\n`);
    return new Promise(() => {});
  },
});
await runtime.start();
const id = await runtime.trigger("api", { from: "child" });
process.stdout.write(`${JSON.stringify({ admitted: id })}\n`);
