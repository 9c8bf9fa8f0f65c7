/** What every tool shares: argument checks first, templates over `{...scope, args}`. */
import { renderTemplate, ExpressionError } from "../expr/index.js";
import { errorMessage } from "../errors.js";
import { compileArgsValidator } from "./validate.js";
import { ToolError, type Tool, type ToolContext } from "./types.js";

export interface ToolSpec {
  name: string;
  exposedName: string;
  description: string;
  inputSchema: Record<string, unknown> | undefined;
  /** Runs the tool with arguments that already passed the schema. */
  run(args: Record<string, unknown>, ctx: ToolContext): Promise<unknown>;
}

const ANY_OBJECT: Record<string, unknown> = { type: "object" };

/** Wraps a spec as a Tool; the schema is compiled once, here. */
export function makeTool(spec: ToolSpec): Tool {
  const validate = compileArgsValidator(spec.name, spec.inputSchema);
  return {
    name: spec.name,
    exposedName: spec.exposedName,
    description: spec.description,
    inputSchema: spec.inputSchema && Object.keys(spec.inputSchema).length > 0 ? spec.inputSchema : ANY_OBJECT,
    async call(args: Record<string, unknown>, ctx: ToolContext): Promise<unknown> {
      const given = args ?? {};
      validate(given);
      return spec.run(given, ctx);
    },
  };
}

/** Renders a tool definition field; a failed expression is a ToolError naming it. */
export function renderField(tool: string, field: string, value: unknown, ctx: ToolContext, args: Record<string, unknown>): unknown {
  try {
    return renderTemplate(value, { ...ctx.scope, args });
  } catch (err) {
    const reason = err instanceof ExpressionError ? err.message : errorMessage(err);
    throw new ToolError(tool, `tool "${tool}" ${field}: ${reason}`, { cause: err });
  }
}

/** Text for argv elements, header values, query values and env values. */
export function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
