/** Turns any error reaching the CLI boundary into one line on stderr and an exit code. */
import type { CliContext } from "./context.js";
import { DefinitionError, ForagerError, formatIssue, type DefinitionIssue } from "../errors.js";

/** Exit codes for ForagerError codes; anything else is 1. */
const EXIT_CODES: Record<string, number> = {
  usage_error: 2,
  definition_error: 2,
  connection_error: 2,
  not_found: 2,
  invalid_input: 2,
  // runtime.backend: redis: no URL, a bad one, or a Redis that evicts keys are configuration errors.
  redis_url_missing: 2,
  invalid_redis_url: 2,
  redis_evicts: 2,
  budget_exceeded: 3,
  timed_out: 124,
};

export function exitCodeFor(err: unknown): number {
  if (err instanceof ForagerError) return EXIT_CODES[err.code] ?? 1;
  return 1;
}

/** `error: 2 problems in 1 of 1 file`: the same closing line for one problem and for many. */
export function problemSummary(problems: number, badFiles: number, files: number): string {
  return `${problems} problem${problems === 1 ? "" : "s"} in ${badFiles} of ${files} file${files === 1 ? "" : "s"}`;
}

/** A problem with the file as a whole (not found, a folder): no line or column to point at. */
export function isFileLevel(issue: DefinitionIssue): boolean {
  return issue.line === 0;
}

export function reportError(err: unknown, ctx: Pick<CliContext, "say" | "verbose">): number {
  const stack = ctx.verbose && err instanceof Error && err.stack ? { stack: err.stack } : {};
  if (err instanceof DefinitionError) {
    const only = err.issues.length === 1 ? err.issues[0]! : undefined;
    if (only && isFileLevel(only)) {
      ctx.say("error", formatIssue(only), { file: only.file, ...stack });
    } else {
      for (const issue of err.issues) ctx.say("error", formatIssue(issue), { file: issue.file, line: issue.line, column: issue.col, path: issue.path, issue: true });
      const files = new Set(err.issues.map((i) => i.file)).size;
      ctx.say("error", `${problemSummary(err.issues.length, files, files)}; fix and run \`forager validate\` again`, stack);
    }
  } else {
    const message = err instanceof Error ? err.message : String(err);
    const hint = err instanceof ForagerError && err.hint ? oneLine(err.hint) : undefined;
    const name = err instanceof Error && !(err instanceof ForagerError) ? { error_class: err.name } : {};
    ctx.say("error", oneLine(message), { ...(hint ? { hint } : {}), ...name, ...stack }, hint ? `hint: ${hint}` : undefined);
  }
  return exitCodeFor(err);
}

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
