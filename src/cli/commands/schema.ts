// PLACEHOLDER: replaced by the real command.
import type { CliContext } from "../context.js";
import { ForagerError } from "../../errors.js";

export async function schemaCommand(_ctx: CliContext, _args: unknown[], _opts: Record<string, unknown>): Promise<number> {
  throw new ForagerError("not_built", "`schema` is not built yet");
}
