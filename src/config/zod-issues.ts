/**
 * Turns zod's issues into messages a person can act on: what was expected,
 * what was found, and for typos the closest valid name. Positions are added
 * by the caller from the path.
 */
import type { z } from "zod";
import { closestValue, didYouMean } from "../util/suggest.js";
import type { KeyPath } from "./positions.js";

export interface SchemaProblem {
  path: KeyPath;
  message: string;
  /** Point at the key rather than its value (unknown keys). */
  target?: "key" | "value";
}

type AnySchema = z.ZodType;
interface Def {
  type: string;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  valueType?: AnySchema;
  innerType?: AnySchema;
  in?: AnySchema;
  options?: AnySchema[];
  discriminator?: string;
  values?: unknown[];
}

function defOf(schema: AnySchema): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

function unwrap(schema: AnySchema): AnySchema {
  let current = schema;
  for (let i = 0; i < 20; i++) {
    const def = defOf(current);
    if ((def.type === "optional" || def.type === "default" || def.type === "nullable" || def.type === "prefault") && def.innerType) {
      current = def.innerType;
    } else if (def.type === "pipe" && def.in) {
      current = def.in;
    } else {
      break;
    }
  }
  return current;
}

/** Literal values of a discriminator key in each option of a union. */
function discriminatorValues(option: AnySchema, key: string): unknown[] {
  const shape = defOf(unwrap(option)).shape;
  const field = shape?.[key];
  if (!field) return [];
  return defOf(unwrap(field)).values ?? [];
}

/** The object schema (after unions are resolved by the data) found at a path. */
export function schemaAt(root: AnySchema, path: KeyPath, data: unknown): AnySchema | undefined {
  let schema: AnySchema | undefined = root;
  let value: unknown = data;
  const pick = () => {
    if (!schema) return;
    schema = unwrap(schema);
    const def = defOf(schema);
    if (def.type === "union" && def.discriminator && def.options) {
      const tag = (value as Record<string, unknown> | undefined)?.[def.discriminator];
      schema = def.options.find((option) => discriminatorValues(option, def.discriminator!).includes(tag));
      if (schema) schema = unwrap(schema);
    }
  };
  pick();
  for (const segment of path) {
    if (!schema) return undefined;
    const def = defOf(schema);
    if (def.type === "object" && def.shape) schema = def.shape[String(segment)];
    else if (def.type === "array") schema = def.element;
    else if (def.type === "record") schema = def.valueType;
    else return undefined;
    value = (value as Record<string | number, unknown> | undefined)?.[segment];
    pick();
  }
  return schema;
}

export function valueAt(data: unknown, path: KeyPath): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string | number, unknown>)[segment];
  }
  return value;
}

/** A short description of a found value: `'fn'`, `42`, `a list`, `a map`, `nothing`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `'${shown}'`;
  }
  return String(value);
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  object: "a map",
  array: "a list",
  record: "a map",
};

function isDefaultMessage(message: string): boolean {
  return /^(Invalid|Too (small|big)|Unrecognized|Expected)/.test(message);
}

function oneOf(values: readonly unknown[]): string {
  return values.map((v) => String(v)).join(", ");
}

function sizeMessage(issue: z.core.$ZodIssue & { code: "too_small" | "too_big" }): string {
  const small = issue.code === "too_small";
  const bound = small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum;
  const inclusive = (issue as { inclusive?: boolean }).inclusive !== false;
  const origin = (issue as { origin?: string }).origin;
  if (origin === "array" || origin === "set") return `expected at ${small ? "least" : "most"} ${bound} item${Number(bound) === 1 ? "" : "s"}`;
  if (origin === "string") return `expected at ${small ? "least" : "most"} ${bound} character${Number(bound) === 1 ? "" : "s"}`;
  if (small) return Number(bound) === 0 && !inclusive ? "expected a number above 0" : `expected a number of at least ${bound}`;
  return `expected a number of at most ${bound}`;
}

/** One zod issue as one or more problems (an unknown-keys issue gives one per key). */
export function describeZodIssue(issue: z.core.$ZodIssue, data: unknown, root: AnySchema): SchemaProblem[] {
  const path = issue.path.filter((s): s is string | number => typeof s !== "symbol");
  const found = valueAt(data, path);
  const foundText = describeValue(found);
  switch (issue.code) {
    case "unrecognized_keys": {
      const schema = schemaAt(root, path, data);
      const shape = schema ? defOf(schema).shape : undefined;
      const known = shape ? Object.keys(shape) : [];
      return issue.keys.map((key) => ({
        path: [...path, key],
        target: "key" as const,
        message: `unknown key "${key}"${didYouMean(key, known)}${known.length && !didYouMean(key, known) ? `; expected one of ${known.join(", ")}` : ""}`,
      }));
    }
    case "invalid_union": {
      const extra = issue as { note?: string; discriminator?: string; options?: unknown[] };
      if (extra.discriminator && extra.note === "No matching discriminator") {
        const options = extra.options ?? [];
        const tagPath = path[path.length - 1] === extra.discriminator ? path : [...path, extra.discriminator];
        const tag = valueAt(data, tagPath);
        const hint = typeof tag === "string" ? didYouMean(tag, options.map(String)) : "";
        return [
          {
            path: tagPath,
            message:
              tag === undefined
                ? `missing "${extra.discriminator}": expected one of ${oneOf(options)}`
                : `expected one of ${oneOf(options)}; found ${describeValue(tag)}${hint}`,
          },
        ];
      }
      // Plain unions (durations, criteria): use the branch that got furthest.
      const branches = issue.errors.filter((branch) => branch.length > 0);
      const deepest = branches.find((branch) => branch.every((i) => i.code !== "invalid_type")) ?? branches[0];
      if (deepest) return deepest.flatMap((inner) => describeZodIssue({ ...inner, path: [...issue.path, ...inner.path] }, data, root));
      return [{ path, message: `unexpected value; found ${foundText}` }];
    }
    case "invalid_type": {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (found === undefined) {
        const key = path[path.length - 1];
        return [{ path, message: `missing required key "${String(key)}": expected ${expected}` }];
      }
      return [{ path, message: `expected ${expected}; found ${foundText}` }];
    }
    case "invalid_value": {
      const match = typeof found === "string" ? closestValue(found, issue.values.map(String)) : undefined;
      const hint = match === undefined ? "" : ` (did you mean "${match}"?)`;
      return [{ path, message: `expected one of ${oneOf(issue.values)}; found ${foundText}${hint}` }];
    }
    case "invalid_format": {
      const what = isDefaultMessage(issue.message) ? `expected ${issue.format}${issue.format === "regex" ? ` ${(issue as { pattern?: string }).pattern}` : ""}` : issue.message;
      return [{ path, message: `${what}; found ${foundText}` }];
    }
    case "too_small":
    case "too_big": {
      const what = isDefaultMessage(issue.message) ? sizeMessage(issue) : issue.message;
      const shown = Array.isArray(found) ? `${found.length} item${found.length === 1 ? "" : "s"}` : foundText;
      return [{ path, message: `${what}; found ${shown}` }];
    }
    default:
      return [{ path, message: `${isDefaultMessage(issue.message) ? "invalid value" : issue.message}; found ${foundText}` }];
  }
}
