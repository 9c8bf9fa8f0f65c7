/** `forager schema`: the agent file's JSON Schema on stdout. */
import type { CliContext } from "../context.js";
import { agentJsonSchema } from "../../config/json-schema.js";

export async function schemaCommand(ctx: CliContext, _args: unknown[], _opts: Record<string, unknown>): Promise<number> {
  ctx.out(`${JSON.stringify(agentJsonSchema(), null, 2)}\n`);
  return 0;
}
