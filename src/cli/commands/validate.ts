/**
 * `forager validate <files...> [--json]`: checks agent files and prints
 * every problem of every file. Kept light: no LLM, MCP or HTTP libraries.
 */
import type { CliContext } from "../context.js";
import { formatIssue } from "../../errors.js";
import { validateAgentFile } from "../../config/load.js";

export async function validateCommand(ctx: CliContext, args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const files = (args[0] as string[] | undefined) ?? [];
  const results = await Promise.all(
    files.map(async (file) => {
      const outcome = await validateAgentFile(file, { env: ctx.env, cwd: ctx.cwd });
      return { file, valid: outcome.issues.length === 0, issues: outcome.issues };
    }),
  );
  if (opts.json) {
    ctx.out(`${JSON.stringify(results, null, 2)}\n`);
  } else {
    for (const result of results) {
      if (result.valid) ctx.out(`ok ${result.file}\n`);
      else for (const issue of result.issues) ctx.err(`${formatIssue(issue)}\n`);
    }
    const bad = results.filter((r) => !r.valid);
    const count = bad.reduce((n, r) => n + r.issues.length, 0);
    // One problem in one file is its own summary: keep the error to one line.
    if (count > 1 || (bad.length > 0 && results.length > 1)) {
      ctx.err(`error: ${count} problem${count === 1 ? "" : "s"} in ${bad.length} of ${results.length} file${results.length === 1 ? "" : "s"}\n`);
    }
  }
  return results.every((r) => r.valid) ? 0 : 2;
}
