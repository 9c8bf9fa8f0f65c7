/**
 * The JSON Schema of the agent file (`forager schema`, and the committed
 * schema/agent.schema.json that editors use through yaml-language-server).
 * Generated from the same zod schema the loader validates with.
 */
import { onFirstUse } from "../util/lazy.js";
import { schemas } from "./schema.js";

const zod = onFirstUse<typeof import("zod")>("zod", () => (typeof require === "function" ? require("zod") : undefined));

export const AGENT_SCHEMA_ID = "urn:forager:schema:agent";

type JsonObject = Record<string, unknown>;

/** An entry point without trigger_type is manual: the schema must not demand it. */
function relaxManualTrigger(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(relaxManualTrigger);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const obj = node as JsonObject;
  const props = obj.properties as JsonObject | undefined;
  const trigger = props?.trigger_type as JsonObject | undefined;
  if (trigger && trigger.const === "manual" && Array.isArray(obj.required)) {
    obj.required = (obj.required as string[]).filter((key) => key !== "trigger_type");
  }
  for (const value of Object.values(obj)) relaxManualTrigger(value);
}

/** `${PORT:-8080}` where a number or boolean is wanted: the loader converts it. */
const PLACEHOLDER = { type: "string", pattern: "^\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}$", description: "${VAR} or ${VAR:-default}" };

/** Lets editors accept a placeholder for every number and boolean, as the loader does. */
function allowPlaceholders(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowPlaceholders);
  if (node === null || typeof node !== "object") return node;
  const obj = Object.fromEntries(Object.entries(node as JsonObject).map(([k, v]) => [k, k === "properties" || k === "$defs" ? mapValues(v) : allowPlaceholders(v)]));
  if (obj.type === "number" || obj.type === "integer" || obj.type === "boolean") {
    const { default: fallback, description, ...typed } = obj;
    return {
      ...(description === undefined ? {} : { description }),
      ...(fallback === undefined ? {} : { default: fallback }),
      anyOf: [typed, PLACEHOLDER],
    };
  }
  return obj;
}

function mapValues(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return allowPlaceholders(value);
  return Object.fromEntries(Object.entries(value as JsonObject).map(([k, v]) => [k, allowPlaceholders(v)]));
}

export function agentJsonSchema(): Record<string, unknown> {
  const generated = zod().z.toJSONSchema(schemas().AgentFileSchema, {
    io: "input",
    target: "draft-2020-12",
    unrepresentable: "any",
  }) as JsonObject;
  relaxManualTrigger(generated);
  const { $schema, ...rest } = allowPlaceholders(generated) as JsonObject;
  return {
    $schema,
    $id: AGENT_SCHEMA_ID,
    title: "forager agent file",
    description:
      "An agent for forager: goal, graph of nodes and edges, tools, LLM, entry points and runtime settings. ${VAR} and ${VAR:-default} are replaced from the environment when the file loads.",
    ...rest,
  };
}
