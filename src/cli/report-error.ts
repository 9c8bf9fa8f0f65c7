/** Turns any error reaching the CLI boundary into one line on stderr and an exit code. */
import type { CliContext } from "./context.js";
import { DefinitionError, ForagerError, formatIssue } from "../errors.js";

/** Exit codes for ForagerError codes; anything else is 1. */
const EXIT_CODES: Record<string, number> = {
  usage_error: 2,
  definition_error: 2,
  connection_error: 2,
  not_found: 2,
  invalid_input: 2,
  budget_exceeded: 3,
  timed_out: 124,
};

export function exitCodeFor(err: unknown): number {
  if (err instanceof ForagerError) return EXIT_CODES[err.code] ?? 1;
  return 1;
}

export function reportError(err: unknown, ctx: Pick<CliContext, "err" | "verbose">): number {
  if (err instanceof DefinitionError) {
    for (const issue of err.issues) ctx.err(`${formatIssue(issue)}\n`);
    const n = err.issues.length;
    ctx.err(`error: the agent file has ${n} problem${n === 1 ? "" : "s"}; fix ${n === 1 ? "it" : "them"} and run \`forager validate\` again\n`);
  } else {
    const message = err instanceof Error ? err.message : String(err);
    ctx.err(`error: ${oneLine(message)}\n`);
    if (err instanceof ForagerError && err.hint) ctx.err(`hint: ${oneLine(err.hint)}\n`);
  }
  if (ctx.verbose && err instanceof Error && err.stack) ctx.err(`${err.stack}\n`);
  return exitCodeFor(err);
}

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
