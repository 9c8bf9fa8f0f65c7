/** `forager cancel <execution-id> [--json]`: cancel a queued or running execution on a running server (SPEC 1, 6). */
import type { CliContext } from "../context.js";
import { ForagerError, UsageError } from "../../errors.js";
import { ControlClient, discoverServer, errorText } from "../../client/index.js";
import type { ExecutionResult } from "../../result.js";
import { formatSummary, plainPaint } from "../format-result.js";

interface ClientFlags {
  json?: boolean;
  url?: string;
  token?: string;
  storage?: string;
}

/** Exit 0 when the execution is cancelled (now or before) or had already finished; 2 when unknown. */
export async function cancelCommand(ctx: CliContext, args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const flags = opts as ClientFlags;
  const id = String(args[0] ?? "").trim();
  if (!id) throw new UsageError("cancel needs an execution id");
  const target = await discoverServer({ url: flags.url, token: flags.token, storage: flags.storage, env: ctx.env, cwd: ctx.cwd });
  const response = await new ControlClient(target).cancel(id);
  if (response.status === 404) {
    throw new ForagerError("not_found", `no execution ${id} on the server at ${target.url}`, {
      hint: "`forager sessions list` shows stored executions",
    });
  }
  if (response.status !== 200) throw new ForagerError("server_error", `cancel ${id} failed (${response.status}): ${errorText(response.body)}`);
  const result = response.body as unknown as ExecutionResult;
  if (flags.json) {
    ctx.out(`${JSON.stringify(result, null, 2)}\n`);
  } else if (result.status === "cancelled") {
    ctx.out(formatSummary(result, plainPaint));
  } else {
    ctx.out(`execution ${id} had already ended (${result.status}); nothing to cancel\n`);
  }
  return 0;
}
