// PLACEHOLDER: replaced by the real command.
import type { CliContext } from "../context.js";
import { ForagerError } from "../../errors.js";

export async function pauseTimersCommand(_ctx: CliContext, _args: unknown[], _opts: Record<string, unknown>): Promise<number> {
  throw new ForagerError("not_built", "`pause-timers` is not built yet");
}
export async function resumeTimersCommand(_ctx: CliContext, _args: unknown[], _opts: Record<string, unknown>): Promise<number> {
  throw new ForagerError("not_built", "`resume-timers` is not built yet");
}
