/**
 * Argument checks against a tool's input_schema, before the tool runs. The
 * error lists every problem with its path so a model can fix its call.
 */
import type { OutputUnit, Schema, SchemaDraft, Validator } from "@cfworker/json-schema";
import { onFirstUse } from "../util/lazy.js";
import { ToolError } from "./types.js";

const cfworker = onFirstUse<typeof import("@cfworker/json-schema")>("@cfworker/json-schema", () =>
  typeof require === "function" ? require("@cfworker/json-schema") : undefined,
);

export type ArgsValidator = (args: unknown) => void;

// Errors that only say "a child failed"; the child's own error says what.
const WRAPPER_KEYWORDS = new Set([
  "properties",
  "patternProperties",
  "items",
  "prefixItems",
  "additionalItems",
  "allOf",
  "$ref",
  "$dynamicRef",
  "$recursiveRef",
  "dependentSchemas",
  "if",
  "then",
  "else",
  "false",
]);

function draftOf(schema: Record<string, unknown>): SchemaDraft {
  const declared = typeof schema.$schema === "string" ? schema.$schema : "";
  if (declared.includes("draft-04")) return "4";
  if (declared.includes("draft-06") || declared.includes("draft-07")) return "7";
  if (declared.includes("2019-09")) return "2019-09";
  if (declared.includes("2020-12")) return "2020-12";
  // No $schema: a tuple-style `items: [...]` only makes sense in draft 7.
  return JSON.stringify(schema).includes('"items":[') ? "7" : "2020-12";
}

function describePath(instanceLocation: string): string {
  const pointer = instanceLocation.replace(/^#/, "");
  return pointer === "" ? "(root)" : pointer;
}

/** The problems worth showing: leaf errors, without the wrappers around them. */
function formatProblems(errors: readonly OutputUnit[]): string[] {
  const leaves = errors.filter((error) => !WRAPPER_KEYWORDS.has(error.keyword));
  const shown = leaves.length > 0 ? leaves : errors;
  const lines = shown.map((error) => `${describePath(error.instanceLocation)}: ${error.error}`);
  return [...new Set(lines)];
}

/** Compiles a schema once; the returned function throws ToolError listing every problem. */
export function compileArgsValidator(tool: string, schema: Record<string, unknown> | undefined): ArgsValidator {
  if (!schema || Object.keys(schema).length === 0) {
    return (args) => {
      if (args === null || typeof args !== "object" || Array.isArray(args)) {
        throw new ToolError(tool, `invalid arguments for tool "${tool}": expected an object`);
      }
    };
  }
  let validator: Validator;
  try {
    validator = new (cfworker().Validator)(schema as Schema, draftOf(schema), false);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return () => {
      throw new ToolError(tool, `tool "${tool}" has an unusable input_schema: ${reason}`);
    };
  }
  return (args) => {
    const result = validator.validate(args);
    if (result.valid) return;
    const problems = formatProblems(result.errors);
    throw new ToolError(tool, `invalid arguments for tool "${tool}": ${problems.join("; ")}`, {
      result: { problems },
    });
  };
}
