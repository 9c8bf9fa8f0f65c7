/**
 * The value schemas every section of the agent file shares: durations,
 * ids, JSON Schema objects and counts. Built with the zod that schema.ts
 * loads on first use; this module never loads zod itself.
 */
import type { z as Zod } from "zod";
import { parseDurationSeconds } from "../util/duration.js";

/** Builds the shared value schemas with `z`. */
export function primitiveSchemas(z: typeof Zod) {
  /** A number of seconds, or "500ms" / "90s" / "5m" / "2h" / "7d"; parsed to seconds. */
  const Duration = z
    .union([
      z.number().nonnegative(),
      z.string().regex(/^\s*\d+(?:\.\d+)?\s*(ms|s|m|h|d)?\s*$/, 'expected a duration like 30, "90s", "5m", "2h" or "7d"'),
    ])
    .transform((value) => parseDurationSeconds(value) ?? 0);

  const Id = z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "expected an id of letters, digits, '_', '-' or '.', starting with a letter or digit");

  const JsonSchemaObject = z.record(z.string(), z.unknown()).describe("a JSON Schema object");

  const PositiveInt = z.number().int().positive();
  const NonNegativeInt = z.number().int().nonnegative();

  return { Duration, Id, JsonSchemaObject, PositiveInt, NonNegativeInt };
}

/** The shared value schemas, as primitiveSchemas builds them. */
export type PrimitiveSchemas = ReturnType<typeof primitiveSchemas>;
