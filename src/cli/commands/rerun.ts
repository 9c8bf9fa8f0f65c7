/**
 * `forager rerun <execution-id> [--wait [--timeout SEC]] [--json]`: a new
 * execution of a stored one's agent and entry point with the same input,
 * through the control API (SPEC 1, 6). Exit codes as `trigger`.
 */
import type { CliContext } from "../context.js";
import { ForagerError, UsageError } from "../../errors.js";
import { ControlClient, discoverServer, errorText } from "../../client/index.js";
import { exitCodeForStatus, type ExecutionResult } from "../../result.js";
import { parseTimeoutFlag } from "../input.js";
import { formatSummary, plainPaint } from "../format-result.js";

interface RerunFlags {
  wait?: boolean;
  timeout?: string;
  json?: boolean;
  url?: string;
  token?: string;
  storage?: string;
}

export async function rerunCommand(ctx: CliContext, args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const flags = opts as RerunFlags;
  const id = String(args[0] ?? "").trim();
  if (!id) throw new UsageError("rerun needs an execution id");
  const wait = Boolean(flags.wait);
  if (flags.timeout !== undefined && !wait) throw new UsageError("--timeout only applies with --wait");
  const timeout = parseTimeoutFlag(flags.timeout);
  const target = await discoverServer({ url: flags.url, token: flags.token, storage: flags.storage, env: ctx.env, cwd: ctx.cwd });

  let response;
  try {
    response = await new ControlClient(target).rerun(id, { wait, timeout }, ctx.interrupt);
  } catch (err) {
    if (ctx.interrupt.aborted) {
      ctx.err("error: interrupted while waiting; the execution goes on in the server\n");
      return ctx.interrupt.reason === "SIGTERM" ? 143 : 130;
    }
    throw err;
  }
  const body = response.body as Record<string, unknown>;
  const print = (human: string) => ctx.out(flags.json ? `${JSON.stringify(body, null, 2)}\n` : human);

  if (response.status === 404) {
    throw new ForagerError("not_found", `cannot rerun ${id}: ${errorText(body)}`, {
      hint: "`forager sessions list` shows stored executions; the agent must be loaded by this server",
    });
  }
  if (response.status === 200 && body.status === "skipped") {
    print(`skipped: ${String(body.reason ?? "the entry point is busy")}\n`);
    return 0;
  }
  if (wait && response.status === 200 && typeof body.schema_version === "number") {
    const result = body as unknown as ExecutionResult;
    print(formatSummary(result, plainPaint));
    if (!result.success) ctx.err(`error: execution ${result.status}: ${result.error?.message ?? "no details"}\n`);
    return exitCodeForStatus(result.status, result.error?.reason);
  }
  if (wait && response.status === 202 && body.wait_timed_out === true) {
    print(`still ${String(body.status)}: ${String(body.execution_id)}\n`);
    ctx.err(`error: execution ${String(body.execution_id)} did not finish within ${timeout}s; it goes on in the server\n`);
    return 124;
  }
  if (response.status === 202 && typeof body.execution_id === "string") {
    print(`${String(body.status)} ${body.execution_id} session ${String(body.session_id)} (rerun of ${id})\n`);
    return 0;
  }
  if (flags.json) ctx.out(`${JSON.stringify(body, null, 2)}\n`);
  const retry = response.headers.get("retry-after");
  const suffix = response.status === 429 && retry ? ` (retry after ${retry}s)` : "";
  ctx.err(`error: rerun of ${id} refused (${response.status}): ${errorText(body)}${suffix}\n`);
  return 2;
}
