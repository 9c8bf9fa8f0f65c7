/** `forager sessions list | show ID | prune`: stored executions on disk. */
import type { CliContext } from "../context.js";
import type { Logger } from "../../logging/index.js";
import { ForagerError, UsageError } from "../../errors.js";
import { elapsedMs, EXECUTION_STATUSES, toResult, type ExecutionResult, type ExecutionStatus } from "../../result.js";
import { createSessionStore } from "../../storage/create.js";
import type { ExecutionSummary, SessionStore } from "../../storage/types.js";
import { parseDurationSeconds } from "../../util/duration.js";
import { resolveStoragePath } from "../../config/storage-path.js";
import { failureMessage, formatDuration, formatUsage, plural, statusWords } from "../format-result.js";

/** The stored sessions `--storage` (or the environment) points at, and that folder for messages. */
function openStore(ctx: CliContext, opts: Record<string, unknown>): { store: SessionStore; where: string } {
  // The logger is built only if storage has something to warn about.
  const logger = { warn: (...args: unknown[]) => (ctx.logger().warn as (...a: unknown[]) => void)(...args) };
  const where = resolveStoragePath({ flag: typeof opts.storage === "string" ? opts.storage : undefined, env: ctx.env, cwd: ctx.cwd });
  const store = createSessionStore({}, { storagePath: where, env: ctx.env, logger: logger as unknown as Pick<Logger, "warn"> });
  return { store, where };
}

function parseCount(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} expects a whole number, got "${text}"`);
  return Number(text);
}

export async function sessionsListCommand(ctx: CliContext, _args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const limit = parseCount("--limit", opts.limit);
  let status: ExecutionStatus | undefined;
  if (opts.status !== undefined) {
    const wanted = String(opts.status).toLowerCase();
    if (!(EXECUTION_STATUSES as readonly string[]).includes(wanted)) {
      throw new UsageError(`--status "${String(opts.status)}" is not a status`, { hint: `use one of: ${EXECUTION_STATUSES.join(", ")}` });
    }
    status = wanted as ExecutionStatus;
  }
  const agent = typeof opts.agent === "string" ? opts.agent : undefined;
  const rows = await openStore(ctx, opts).store.list({ agent, status, limit });
  if (opts.json) {
    ctx.out(JSON.stringify(rows, null, 2) + "\n");
    return 0;
  }
  if (rows.length === 0) {
    ctx.out("no executions found\n");
    return 0;
  }
  ctx.out(formatTable(rows));
  return 0;
}

function formatTable(rows: ExecutionSummary[]): string {
  const header = ["EXECUTION", "SESSION", "AGENT", "ENTRY POINT", "STATUS", "STARTED", "DURATION"];
  const lines = rows.map((r) => [
    r.execution_id,
    r.session_id,
    r.agent,
    r.entry_point,
    r.status,
    r.started_at ?? "-",
    formatMs(elapsedMs(r)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ") + "\n";
  return render(header) + lines.map(render).join("");
}

function formatMs(ms: number | null): string {
  return ms === null ? "-" : formatDuration(ms);
}

/** Statuses worth offering a re-run for. */
const RERUNNABLE = new Set<ExecutionStatus>(["failed", "cancelled", "interrupted", "timed_out", "budget_exceeded"]);

export async function sessionsShowCommand(ctx: CliContext, args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const id = String(args[0] ?? "").trim();
  if (!id) throw new UsageError("sessions show needs an execution id or a session id");
  const { store, where } = openStore(ctx, opts);
  let record = await store.get(id);
  if (!record) {
    // A session id: show its newest execution.
    const newest = (await store.list()).find((s) => s.session_id === id);
    if (newest) record = await store.get(newest.execution_id);
  }
  if (!record) {
    throw new ForagerError("not_found", `no execution or session "${id}" in ${where}`, {
      hint: "run `forager sessions list` to see stored executions, or pass --storage DIR",
    });
  }
  const events = await store.readEvents(record.agent, record.session_id, record.execution_id);
  const result = { ...toResult(record), events };
  if (opts.json) {
    ctx.out(JSON.stringify(result, null, 2) + "\n");
    return 0;
  }
  ctx.out(formatRecord(result, record.input));
  return 0;
}

function formatRecord(result: ExecutionResult & { events: unknown[] }, input: unknown): string {
  const u = result.usage;
  const lines = [
    `execution  ${result.execution_id}`,
    `session    ${result.session_id}`,
    `agent      ${result.agent} (entry point ${result.entry_point})`,
    `status     ${statusWords(result.status)}`,
    `started    ${result.started_at ?? "-"}`,
    `finished   ${result.finished_at ?? "-"}  (${formatMs(result.duration_ms)})`,
    `path       ${result.path.length > 0 ? result.path.join(" → ") : "-"}  (${plural(result.steps_executed, "step")})`,
  ];
  if (u) lines.push(`usage      ${formatUsage(u)}`);
  if (result.error) {
    const where = result.error.node_id ? ` at node ${result.error.node_id}` : "";
    lines.push(`error      [${result.error.code}]${where}: ${failureMessage(result)}`);
  }
  if (result.rerun_of) lines.push(`rerun of   ${result.rerun_of}`);
  lines.push(`input      ${JSON.stringify(input ?? {})}`);
  lines.push(`output     ${JSON.stringify(result.output)}`);
  lines.push(`events     ${result.events.length}`);
  for (const e of result.events as { timestamp?: string; type?: string; node_id?: string | null }[]) {
    lines.push(`  ${e.timestamp ?? ""}  ${e.type ?? ""}${e.node_id ? `  ${e.node_id}` : ""}`);
  }
  if (RERUNNABLE.has(result.status)) {
    lines.push(`re-run it with the same input on a running server: forager rerun ${result.execution_id}`);
  }
  return lines.join("\n") + "\n";
}

export async function sessionsPruneCommand(ctx: CliContext, _args: unknown[], opts: Record<string, unknown>): Promise<number> {
  let olderThanSeconds: number | undefined;
  if (opts.olderThan !== undefined) {
    olderThanSeconds = parseDurationSeconds(String(opts.olderThan));
    if (olderThanSeconds === undefined) {
      throw new UsageError(`--older-than "${String(opts.olderThan)}" is not a duration`, { hint: "use e.g. 90s, 30m, 12h or 7d" });
    }
  }
  const keep = parseCount("--keep", opts.keep);
  if (olderThanSeconds === undefined && keep === undefined) {
    throw new UsageError("sessions prune needs --older-than DUR and/or --keep N", { hint: "e.g. forager sessions prune --older-than 7d --dry-run" });
  }
  const dryRun = Boolean(opts.dryRun);
  const agent = typeof opts.agent === "string" ? opts.agent : undefined;
  const report = await openStore(ctx, opts).store.prune({ agent, olderThanSeconds, keep, dryRun });
  if (opts.json) {
    ctx.out(JSON.stringify(report, null, 2) + "\n");
    return 0;
  }
  // The list printed is the removed one, and the line says so; the kept ones are only counted.
  const n = report.removed.length;
  const kept = `${plural(report.kept, "session")} kept`;
  if (n === 0) {
    ctx.out(`nothing to remove; ${kept}\n`);
    return 0;
  }
  ctx.out(`${dryRun ? "would remove" : "removed"} ${plural(n, "session")} (${kept}${dryRun ? "; nothing removed yet, this is a dry run" : ""}):\n`);
  for (const label of report.removed) ctx.out(`  ${dryRun ? "would remove" : "removed"}  ${label}\n`);
  return 0;
}
