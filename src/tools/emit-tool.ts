/** `type: emit` tools: publish a `custom` event on the bus, return its id. */
import type { EmitToolDef } from "../config/schema.js";
import { makeTool } from "./tool-base.js";
import { exposedName } from "./names.js";
import type { Tool } from "./types.js";

export function createEmitTool(name: string, def: EmitToolDef): Tool {
  return makeTool({
    name,
    exposedName: exposedName(name),
    description: def.description,
    inputSchema: def.input_schema,
    async run(args, ctx) {
      // `tool` names the emitter; an argument of the same name must not hide it.
      const data: Record<string, unknown> = { tool: name, ...args };
      data.tool = name;
      const event = ctx.publish({ type: "custom", data });
      return { event_id: event.id };
    },
  });
}
