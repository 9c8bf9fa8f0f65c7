/**
 * What `trigger` and `rerun` share once the control API has answered: a
 * wait cut short by a signal, then one reading of the answer (skipped, a
 * finished result, a wait that timed out, started, refused) with the exit
 * codes of SPEC 1.
 */
import type { CliContext } from "./context.js";
import { errorText } from "../client/index.js";
import { exitCodeForStatus, type ExecutionResult } from "../result.js";
import { describeFailure, formatSummary, plainPaint } from "./format-result.js";

export interface ControlAnswer {
  status: number;
  body: unknown;
  headers: Headers;
}

/** Calls the server; a signal while waiting leaves the execution running there and exits 130/143. */
export async function askServer(ctx: CliContext, call: () => Promise<ControlAnswer>): Promise<ControlAnswer | number> {
  try {
    return await call();
  } catch (err) {
    if (!ctx.interrupt.aborted) throw err;
    ctx.err("error: interrupted while waiting; the execution goes on in the server\n");
    return ctx.interrupt.reason === "SIGTERM" ? 143 : 130;
  }
}

export interface ReportOptions {
  wait: boolean;
  timeout?: number;
  json?: boolean;
  /** The line for an execution that started or queued. */
  started: (body: Record<string, unknown>) => string;
  /** What was refused, for the error line: `trigger api`, `rerun of exec_…`. */
  refused: string;
}

/** Prints the answer (the body itself with --json) and returns the exit code. */
export function reportAnswer(ctx: CliContext, answer: ControlAnswer, options: ReportOptions): number {
  const body = answer.body as Record<string, unknown>;
  const print = (human: string) => ctx.out(options.json ? `${JSON.stringify(body, null, 2)}\n` : human);

  if (answer.status === 200 && body.status === "skipped") {
    print(`skipped: ${String(body.reason ?? "the entry point is busy")}\n`);
    return 0;
  }
  if (options.wait && answer.status === 200 && typeof body.execution_id === "string" && typeof body.schema_version === "number") {
    const result = body as unknown as ExecutionResult;
    print(formatSummary(result, plainPaint));
    if (!result.success) ctx.say("error", describeFailure(result), { status: result.status, execution_id: result.execution_id });
    return exitCodeForStatus(result.status, result.error?.reason);
  }
  if (options.wait && answer.status === 202 && body.wait_timed_out === true) {
    print(`still ${String(body.status)}: ${String(body.execution_id)}\n`);
    ctx.err(`error: execution ${String(body.execution_id)} did not finish within ${options.timeout}s; it goes on in the server\n`);
    return 124;
  }
  if ((answer.status === 202 || answer.status === 200) && typeof body.execution_id === "string") {
    print(options.started(body));
    return 0;
  }
  if (options.json) ctx.out(`${JSON.stringify(body, null, 2)}\n`);
  const retry = answer.headers.get("retry-after");
  const suffix = answer.status === 429 && retry ? ` (retry after ${retry}s)` : "";
  ctx.err(`error: ${options.refused} refused (${answer.status}): ${errorText(body)}${suffix}\n`);
  return 2;
}
