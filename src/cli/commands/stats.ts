/** `forager stats`: a running server's stats as a table, or JSON with --json. */
import type { CliContext } from "../context.js";
import { ControlClient, discoverServer } from "../../client/index.js";

interface StatsFlags {
  json?: boolean;
  url?: string;
  token?: string;
  storage?: string;
}

export async function statsCommand(ctx: CliContext, _args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const flags = opts as StatsFlags;
  const target = await discoverServer({ url: flags.url, token: flags.token, storage: flags.storage, env: ctx.env, cwd: ctx.cwd });
  const stats = await new ControlClient(target).stats();
  ctx.out(flags.json ? `${JSON.stringify(stats, null, 2)}\n` : formatStats(stats));
  return 0;
}

type Row = string[];

function table(header: Row, rows: Row[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: Row) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

function localTime(iso: unknown): string {
  if (typeof iso !== "string") return "-";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "-";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function entries(value: unknown): [string, Record<string, unknown>][] {
  return typeof value === "object" && value !== null ? (Object.entries(value) as [string, Record<string, unknown>][]) : [];
}

const num = (value: unknown) => (typeof value === "number" ? String(Math.round(value * 10) / 10) : "-");

/** The readable form of the stats object: a summary line, then streams, timers and webhooks. */
export function formatStats(stats: Record<string, unknown>): string {
  const parts: string[] = [];
  parts.push(
    `${stats.running ? "running" : "stopped"} for ${num(stats.uptime_seconds)}s; ` +
      `${num(stats.active_executions)} active, ${num(stats.queued_executions)} queued, ` +
      `limit ${num(stats.max_concurrent_executions)}; timers ${stats.timers_paused ? "PAUSED" : "running"}\n`,
  );
  const streams = entries(stats.streams);
  if (streams.length > 0) {
    const rows = streams.map(([id, s]) => {
      const c = (s.status_counts ?? {}) as Record<string, unknown>;
      return [id, String(s.trigger_type ?? "-"), num(c.queued), num(c.running), num(c.completed), num(c.failed), num(c.cancelled), `${num(s.available_slots)}/${num(s.max_concurrent)}`];
    });
    parts.push("\nStreams\n" + table(["STREAM", "TRIGGER", "QUEUED", "RUNNING", "DONE", "FAILED", "CANCELLED", "SLOTS"], rows));
  }
  const timers = entries(stats.timers);
  if (timers.length > 0) {
    const rows = timers.map(([id, t]) => [id, t.paused ? "paused" : "active", localTime(t.next_run_at), localTime(t.last_fired_at), num(t.fired), num(t.skipped)]);
    parts.push("\nTimers (local time)\n" + table(["TIMER", "STATE", "NEXT RUN", "LAST FIRED", "FIRED", "SKIPPED"], rows));
  }
  // A cluster (runtime.backend: redis) lists its nodes; one process has none.
  const nodes = Array.isArray(stats.nodes) ? (stats.nodes as Record<string, unknown>[]) : [];
  if (nodes.length > 0) {
    const rows = nodes.map((n) => [String(n.id ?? "-"), String(n.host ?? "-"), num(n.pid), localTime(n.started_at), num(n.running)]);
    parts.push("\nNodes (local time)\n" + table(["NODE", "HOST", "PID", "STARTED", "RUNNING"], rows));
  }
  const webhooks = entries(stats.webhooks);
  if (webhooks.length > 0) {
    const rows = webhooks.map(([id, w]) => [id, num(w.accepted), num(w.rejected), num(w.duplicates)]);
    parts.push("\nWebhooks\n" + table(["SOURCE", "ACCEPTED", "REJECTED", "DUPLICATES"], rows));
  }
  return parts.join("");
}
