/** `forager trigger <entry-point>`: start an execution on a running server (SPEC 1, 6). */
import type { CliContext } from "../context.js";
import { UsageError } from "../../errors.js";
import { ControlClient, discoverServer, errorText } from "../../client/index.js";
import { exitCodeForStatus, type ExecutionResult } from "../../result.js";
import { parseTimeoutFlag, readInputFlag } from "../input.js";
import { describeFailure, formatSummary, plainPaint } from "../format-result.js";

interface TriggerFlags {
  agent?: string;
  input?: string;
  idempotencyKey?: string;
  wait?: boolean;
  timeout?: string;
  json?: boolean;
  url?: string;
  token?: string;
  storage?: string;
}

function parseTimeout(value: string | undefined, wait: boolean): number | undefined {
  if (value !== undefined && !wait) throw new UsageError("--timeout only applies with --wait");
  return parseTimeoutFlag(value);
}

export async function triggerCommand(ctx: CliContext, args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const flags = opts as TriggerFlags;
  const entryPoint = String(args[0]);
  const wait = Boolean(flags.wait);
  const timeout = parseTimeout(flags.timeout, wait);
  const input = await readInputFlag(flags.input, ctx);
  const target = await discoverServer({ url: flags.url, token: flags.token, storage: flags.storage, env: ctx.env, cwd: ctx.cwd });
  const client = new ControlClient(target);

  let response;
  try {
    response = await client.trigger(
      { agent: flags.agent, entryPoint, input, idempotencyKey: flags.idempotencyKey, wait, timeout },
      ctx.interrupt,
    );
  } catch (err) {
    if (ctx.interrupt.aborted) {
      ctx.err("error: interrupted while waiting; the execution goes on in the server\n");
      return ctx.interrupt.reason === "SIGTERM" ? 143 : 130;
    }
    throw err;
  }
  const body = response.body as Record<string, unknown>;
  const print = (human: string) => ctx.out(flags.json ? `${JSON.stringify(body, null, 2)}\n` : human);

  if (response.status === 200 && body.status === "skipped") {
    print(`skipped: ${String(body.reason ?? "the entry point is busy")}\n`);
    return 0;
  }
  if (wait && response.status === 200 && typeof body.execution_id === "string" && typeof body.schema_version === "number") {
    const result = body as unknown as ExecutionResult;
    print(formatSummary(result, plainPaint));
    if (!result.success) ctx.say("error", describeFailure(result), { status: result.status, execution_id: result.execution_id });
    return exitCodeForStatus(result.status, result.error?.reason);
  }
  if (wait && response.status === 202 && body.wait_timed_out === true) {
    print(`still ${String(body.status)}: ${String(body.execution_id)}\n`);
    ctx.err(`error: execution ${String(body.execution_id)} did not finish within ${timeout}s; it goes on in the server\n`);
    return 124;
  }
  if ((response.status === 202 || response.status === 200) && typeof body.execution_id === "string") {
    const dup = body.duplicate === true ? " (duplicate: an earlier trigger with this idempotency key)" : "";
    print(`${String(body.status)} ${body.execution_id} session ${String(body.session_id)}${dup}\n`);
    return 0;
  }
  const agents = agentsToChooseFrom(body);
  if (agents) {
    // The server's answer names an HTTP path; a CLI user needs the flag.
    throw new UsageError(`the server runs several agents (${agents.join(", ")}); pass --agent NAME, e.g. forager trigger ${entryPoint} --agent ${agents[0]}`);
  }
  if (flags.json) ctx.out(`${JSON.stringify(body, null, 2)}\n`);
  const retry = response.headers.get("retry-after");
  const suffix = response.status === 429 && retry ? ` (retry after ${retry}s)` : "";
  ctx.err(`error: trigger ${entryPoint} refused (${response.status}): ${errorText(body)}${suffix}\n`);
  return 2;
}

/** The agents listed in an `agent_required` refusal, when that is what it is. */
function agentsToChooseFrom(body: Record<string, unknown>): string[] | undefined {
  const error = body.error as { code?: unknown; details?: { agents?: unknown } } | undefined;
  if (error?.code !== "agent_required") return undefined;
  const agents = error.details?.agents;
  return Array.isArray(agents) && agents.length > 0 ? agents.map(String) : undefined;
}
