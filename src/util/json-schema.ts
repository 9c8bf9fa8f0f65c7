/**
 * JSON Schema checks for trigger input and tool arguments. Validators are
 * compiled once per schema object and reused.
 */
import type { Validator } from "@cfworker/json-schema";
import { onFirstUse } from "./lazy.js";
const cfworker = onFirstUse<typeof import("@cfworker/json-schema")>("@cfworker/json-schema", () =>
  typeof require === "function" ? require("@cfworker/json-schema") : undefined,
);

// Keywords that only repeat a failure already reported by a nested one.
const WRAPPER_KEYWORDS = new Set(["properties", "allOf", "anyOf", "items", "$ref", "false"]);

const validators = new WeakMap<object, Validator>();

/** Every problem, as `path: message` lines; empty when the value is valid. */
export function jsonSchemaErrors(schema: Record<string, unknown>, value: unknown): string[] {
  let validator = validators.get(schema);
  if (!validator) {
    validator = new (cfworker().Validator)(schema as never, "2020-12", false);
    validators.set(schema, validator);
  }
  const result = validator.validate(value);
  if (result.valid) return [];
  // cfworker reports each failure once per enclosing keyword; keep the leaves.
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of result.errors) {
    if (WRAPPER_KEYWORDS.has(e.keyword) && result.errors.length > 1) continue;
    const where = e.instanceLocation.replace(/^#\/?/, "").replace(/\//g, ".") || "(root)";
    const line = `${where}: ${e.error.replace(/^Instance /, "")}`;
    if (!seen.has(line)) {
      seen.add(line);
      out.push(line);
    }
  }
  return out;
}
