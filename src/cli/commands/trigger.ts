/** `forager trigger <entry-point>`: start an execution on a running server (SPEC 1, 6). */
import type { CliContext } from "../context.js";
import { UsageError } from "../../errors.js";
import { ControlClient, discoverServer } from "../../client/index.js";
import { parseTimeoutFlag, readInputFlag } from "../input.js";
import { askServer, reportAnswer } from "../control-answer.js";

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

  const answer = await askServer(ctx, () =>
    client.trigger({ agent: flags.agent, entryPoint, input, idempotencyKey: flags.idempotencyKey, wait, timeout }, ctx.interrupt),
  );
  if (typeof answer === "number") return answer;
  const agents = agentsToChooseFrom(answer.body as Record<string, unknown>);
  if (agents) {
    // The server's answer names an HTTP path; a CLI user needs the flag.
    throw new UsageError(`the server runs several agents (${agents.join(", ")}); pass --agent NAME, e.g. forager trigger ${entryPoint} --agent ${agents[0]}`);
  }
  return reportAnswer(ctx, answer, {
    wait,
    timeout,
    json: flags.json,
    refused: `trigger ${entryPoint}`,
    started: (body) => {
      const dup = body.duplicate === true ? " (duplicate: an earlier trigger with this idempotency key)" : "";
      return `${String(body.status)} ${String(body.execution_id)} session ${String(body.session_id)}${dup}\n`;
    },
  });
}

/** The agents listed in an `agent_required` refusal, when that is what it is. */
function agentsToChooseFrom(body: Record<string, unknown>): string[] | undefined {
  const error = body.error as { code?: unknown; details?: { agents?: unknown } } | undefined;
  if (error?.code !== "agent_required") return undefined;
  const agents = error.details?.agents;
  return Array.isArray(agents) && agents.length > 0 ? agents.map(String) : undefined;
}
