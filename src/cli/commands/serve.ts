/** `forager serve <agent.yaml>...`: the daemon. The work lives in src/server/serve.ts. */
import type { CliContext } from "../context.js";
import { resolve } from "node:path";
import { serve } from "../../server/serve.js";
import { ensureStorageFolder } from "../storage-check.js";

export async function serveCommand(ctx: CliContext, args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const files = (Array.isArray(args[0]) ? args[0] : args).map(String);
  // A folder given on the command line or in the environment is checked before serve creates anything in it.
  const given = typeof opts.storage === "string" ? opts.storage : ctx.env.FORAGER_STORAGE || undefined;
  if (given) ensureStorageFolder(resolve(ctx.cwd, given));
  return serve({
    files,
    storage: typeof opts.storage === "string" ? opts.storage : undefined,
    rolling: opts.rolling === true,
    env: ctx.env,
    cwd: ctx.cwd,
    logger: ctx.logger(),
    interrupt: ctx.interrupt,
    forceInterrupt: ctx.forceInterrupt,
    onHangup: ctx.onHangup,
  });
}
