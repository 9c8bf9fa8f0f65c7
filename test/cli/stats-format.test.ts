// `forager stats` as a table: a cluster's stats list its nodes (SPEC 9); one process's do not.
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatStats } from "../../src/cli/commands/stats.js";

const base = { running: true, uptime_seconds: 12, active_executions: 1, queued_executions: 0, max_concurrent_executions: 5, timers_paused: false, streams: {}, timers: {}, webhooks: {} };

test("a cluster's stats show a row per node", () => {
  const text = formatStats({
    ...base,
    nodes: [
      { id: "host-a:101:ab12", host: "host-a", pid: 101, started_at: "2026-01-01T00:00:00.000Z", running: 1 },
      { id: "host-b:202:cd34", host: "host-b", pid: 202, started_at: "2026-01-01T00:00:01.000Z", running: 0 },
    ],
  });
  assert.match(text, /^Nodes \(local time\)$/m);
  assert.match(text, /^NODE\s+HOST\s+PID\s+STARTED\s+RUNNING$/m);
  assert.match(text, /^host-a:101:ab12\s+host-a\s+101\s+\S+ \S+\s+1$/m);
  assert.match(text, /^host-b:202:cd34\s+host-b\s+202\s+\S+ \S+\s+0$/m);
});

test("one process's stats have no node table", () => {
  assert.doesNotMatch(formatStats(base), /Nodes/);
});
