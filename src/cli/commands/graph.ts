/** `forager graph <file>`: a Mermaid flowchart of the agent's graph on stdout. */
import type { CliContext } from "../context.js";
import { loadAgent } from "../../config/load.js";
import { renderMermaid } from "../../config/mermaid.js";

export async function graphCommand(ctx: CliContext, args: unknown[], _opts: Record<string, unknown>): Promise<number> {
  const agent = await loadAgent(String(args[0]), { env: ctx.env, cwd: ctx.cwd });
  ctx.out(renderMermaid(agent));
  return 0;
}
