/**
 * `forager validate <files...> [--json] [--strict-env]`: checks agent files
 * and prints every problem of every file. Needs no secrets: an unset
 * `${VAR}` without a default is a warning unless --strict-env (SPEC 1).
 * Kept light: no LLM, MCP or HTTP libraries.
 */
import type { CliContext } from "../context.js";
import { formatIssue, type DefinitionIssue } from "../../errors.js";
import { validateAgentFile } from "../../config/load.js";
import { problemSummary } from "../report-error.js";
import { inGitHubActions } from "../github-actions.js";
import { issueAnnotation } from "../github-workflow.js";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function located(issue: DefinitionIssue): Record<string, unknown> {
  return { file: issue.file, line: issue.line, column: issue.col, path: issue.path };
}

export async function validateCommand(ctx: CliContext, args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const files = (args[0] as string[] | undefined) ?? [];
  const unsetEnv = opts.strictEnv ? "error" : "warn";
  const results = await Promise.all(
    files.map(async (file) => {
      const outcome = await validateAgentFile(file, { env: ctx.env, cwd: ctx.cwd, unsetEnv });
      return { file, valid: outcome.issues.length === 0, issues: outcome.issues, warnings: outcome.warnings ?? [] };
    }),
  );
  if (inGitHubActions(ctx.env)) {
    // Annotations on stderr (the runner reads workflow commands from both streams), so stdout stays the result.
    for (const result of results) {
      for (const issue of result.issues) ctx.err(`${issueAnnotation(issue, "error", ctx.env)}\n`);
      for (const warning of result.warnings) ctx.err(`${issueAnnotation(warning, "warning", ctx.env)}\n`);
    }
  }
  if (opts.json) {
    ctx.out(`${JSON.stringify(results, null, 2)}\n`);
  } else {
    for (const result of results) {
      for (const issue of result.warnings) ctx.say("warn", formatIssue(issue), located(issue));
      if (result.valid) {
        const note = result.warnings.length > 0 ? ` (${plural(result.warnings.length, "warning")})` : "";
        ctx.out(`ok ${result.file}${note}\n`);
      } else {
        for (const issue of result.issues) ctx.say("error", formatIssue(issue), { ...located(issue), issue: true });
      }
    }
    const bad = results.filter((r) => !r.valid);
    const count = bad.reduce((n, r) => n + r.issues.length, 0);
    // The same closing line whether one file has one problem or many have many.
    if (count > 0) ctx.say("error", problemSummary(count, bad.length, results.length));
  }
  return results.every((r) => r.valid) ? 0 : 2;
}
