/** `forager pause-timers` / `forager resume-timers` on a running server. */
import type { CliContext } from "../context.js";
import { ControlClient, discoverServer } from "../../client/index.js";

interface ClientFlags {
  url?: string;
  token?: string;
  storage?: string;
}

async function setPaused(ctx: CliContext, opts: Record<string, unknown>, paused: boolean): Promise<number> {
  const flags = opts as ClientFlags;
  const target = await discoverServer({ url: flags.url, token: flags.token, storage: flags.storage, env: ctx.env, cwd: ctx.cwd });
  const result = await new ControlClient(target).setTimersPaused(paused);
  ctx.out(result.timers_paused ? "timers paused\n" : "timers running\n");
  return 0;
}

export async function pauseTimersCommand(ctx: CliContext, _args: unknown[], opts: Record<string, unknown>): Promise<number> {
  return setPaused(ctx, opts, true);
}

export async function resumeTimersCommand(ctx: CliContext, _args: unknown[], opts: Record<string, unknown>): Promise<number> {
  return setPaused(ctx, opts, false);
}
