/** `forager serve <agent.yaml>...`: the daemon. The work lives in src/server/serve.ts. */
import type { CliContext } from "../context.js";
import { serve } from "../../server/serve.js";

export async function serveCommand(ctx: CliContext, args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const files = (Array.isArray(args[0]) ? args[0] : args).map(String);
  return serve({
    files,
    storage: typeof opts.storage === "string" ? opts.storage : undefined,
    env: ctx.env,
    cwd: ctx.cwd,
    logger: ctx.logger(),
    interrupt: ctx.interrupt,
    forceInterrupt: ctx.forceInterrupt,
  });
}
