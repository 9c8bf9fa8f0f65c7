/**
 * `forager sessions list | show ID | prune`: stored executions, in the
 * storage folder, or in a cluster's Redis (`runtime.backend: redis` in the
 * agent file given with --agent-file, or FORAGER_REDIS_URL without one).
 */
import { resolve } from "node:path";
import type { CliContext } from "../context.js";
import type { Logger } from "../../logging/index.js";
import type { RuntimeConfig } from "../../config/schema.js";
import { ForagerError, UsageError } from "../../errors.js";
import { elapsedMs, EXECUTION_STATUSES, toResult, type ExecutionResult, type ExecutionStatus } from "../../result.js";
import { createSessionStore } from "../../storage/create.js";
import type { ExecutionSummary, SessionStore } from "../../storage/types.js";
import { parseDurationSeconds } from "../../util/duration.js";
import { resolveStoragePath } from "../../config/storage-path.js";
import { failureMessage, formatDuration, formatUsage, plural, statusWords } from "../format-result.js";

interface OpenStore {
  store: SessionStore;
  /** Where the sessions are, for messages: the folder, or the Redis URL (password hidden) and prefix. */
  where: string;
  close(): Promise<void>;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/** The runtime settings that choose the store: the agent file's, or Redis from the environment. */
async function storageConfig(ctx: CliContext, opts: Record<string, unknown>): Promise<Partial<RuntimeConfig>> {
  if (typeof opts.agentFile === "string") {
    // Loaded only when asked for: the YAML parser and schema stay out of a plain `sessions list`.
    const { loadAgent } = await import("../../config/load.js");
    const agent = await loadAgent(resolve(ctx.cwd, opts.agentFile), { env: ctx.env, cwd: ctx.cwd });
    return agent.runtime;
  }
  // An explicit --storage folder wins over a Redis URL in the environment.
  if (typeof opts.storage !== "string" && nonEmpty(ctx.env.FORAGER_REDIS_URL)) {
    return { backend: "redis", redis_prefix: nonEmpty(ctx.env.FORAGER_REDIS_PREFIX) };
  }
  return {};
}

/** The stored sessions the flags and environment point at; close() releases a Redis connection. */
async function openStore(ctx: CliContext, opts: Record<string, unknown>): Promise<OpenStore> {
  // The logger is built only if storage has something to warn about.
  const logger = { warn: (...args: unknown[]) => (ctx.logger().warn as (...a: unknown[]) => void)(...args) } as unknown as Pick<Logger, "warn">;
  const config = await storageConfig(ctx, opts);
  if (config.backend === "redis") {
    const { RedisLink, redisSettings, redactRedisUrl } = await import("../../storage/redis/connection.js");
    const settings = redisSettings(config, ctx.env);
    const link = new RedisLink(settings);
    const store = createSessionStore(config, { link, env: ctx.env, logger });
    return { store, where: `Redis ${redactRedisUrl(settings.url)} (prefix ${settings.prefix})`, close: () => link.close() };
  }
  const flag = typeof opts.storage === "string" ? opts.storage : undefined;
  const where = resolveStoragePath({ flag, env: ctx.env, runtimeStoragePath: config.storage_path, cwd: ctx.cwd });
  const store = createSessionStore({}, { storagePath: where, env: ctx.env, logger });
  return { store, where, close: async () => store.close?.() };
}

/** Runs `use` on the store and always closes it, so the command exits promptly. */
async function withStore<T>(ctx: CliContext, opts: Record<string, unknown>, use: (opened: OpenStore) => Promise<T>): Promise<T> {
  const opened = await openStore(ctx, opts);
  try {
    return await use(opened);
  } finally {
    await opened.close();
  }
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
  const rows = await withStore(ctx, opts, ({ store }) => store.list({ agent, status, limit }));
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
  const { record, events } = await withStore(ctx, opts, async ({ store, where }) => {
    let found = await store.get(id);
    if (!found) {
      // A session id: show its newest execution.
      const newest = (await store.list()).find((s) => s.session_id === id);
      if (newest) found = await store.get(newest.execution_id);
    }
    if (!found) {
      throw new ForagerError("not_found", `no execution or session "${id}" in ${where}`, {
        hint: "run `forager sessions list` to see stored executions, or pass --storage DIR",
      });
    }
    return { record: found, events: await store.readEvents(found.agent, found.session_id, found.execution_id) };
  });
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
  const report = await withStore(ctx, opts, ({ store }) => store.prune({ agent, olderThanSeconds, keep, dryRun }));
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
