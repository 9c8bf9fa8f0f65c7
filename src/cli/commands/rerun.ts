/**
 * `forager rerun <execution-id> [--wait [--timeout SEC]] [--json]`: a new
 * execution of a stored one's agent and entry point with the same input,
 * through the control API (SPEC 1, 6). Exit codes as `trigger`.
 */
import type { CliContext } from "../context.js";
import { ForagerError, UsageError } from "../../errors.js";
import { ControlClient, discoverServer, errorText } from "../../client/index.js";
import { parseTimeoutFlag } from "../input.js";
import { askServer, reportAnswer } from "../control-answer.js";

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

  const answer = await askServer(ctx, () => new ControlClient(target).rerun(id, { wait, timeout }, ctx.interrupt));
  if (typeof answer === "number") return answer;
  if (answer.status === 404) {
    const body = answer.body as Record<string, unknown>;
    throw new ForagerError("not_found", `cannot rerun ${id}: ${errorText(body)}`, {
      hint: "`forager sessions list` shows stored executions; the agent must be loaded by this server",
    });
  }
  return reportAnswer(ctx, answer, {
    wait,
    timeout,
    json: flags.json,
    refused: `rerun of ${id}`,
    started: (body) => `${String(body.status)} ${String(body.execution_id)} session ${String(body.session_id)} (rerun of ${id})\n`,
  });
}
