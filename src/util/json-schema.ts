/**
 * JSON Schema checks for trigger input. Validators are compiled once per
 * schema object and reused. Failures are told in plain words
 * (`unknown property "pth" (allowed: path)`) rather than in the validator's
 * own vocabulary, because the person reading them wrote the input, not the schema.
 */
import type { OutputUnit, Validator } from "@cfworker/json-schema";
import { onFirstUse } from "./lazy.js";
import { didYouMean } from "./suggest.js";
const cfworker = onFirstUse<typeof import("@cfworker/json-schema")>("@cfworker/json-schema", () =>
  typeof require === "function" ? require("@cfworker/json-schema") : undefined,
);

// Keywords that only repeat a failure already reported by a nested one.
const WRAPPER_KEYWORDS = new Set(["properties", "allOf", "anyOf", "items", "$ref", "false", "prefixItems", "patternProperties"]);

const validators = new WeakMap<object, Validator>();

/** Every problem, one sentence each; empty when the value is valid. */
export function jsonSchemaErrors(schema: Record<string, unknown>, value: unknown): string[] {
  let validator = validators.get(schema);
  if (!validator) {
    validator = new (cfworker().Validator)(schema as never, "2020-12", false);
    validators.set(schema, validator);
  }
  const result = validator.validate(value);
  if (result.valid) return [];
  // cfworker reports each failure once per enclosing keyword; keep the leaves.
  const leaves = result.errors.filter((e) => !(WRAPPER_KEYWORDS.has(e.keyword) && result.errors.length > 1));
  const seen = new Set<string>();
  const out: string[] = [];
  for (const unit of leaves.length > 0 ? leaves : result.errors) {
    const line = describeUnit(unit, schema, value);
    if (line !== undefined && !seen.has(line)) {
      seen.add(line);
      out.push(line);
    }
  }
  return out;
}

/** Segments of a JSON pointer such as `#/properties/a~1b` (URI-encoded by cfworker). */
function pointerSegments(pointer: string): string[] {
  const body = pointer.replace(/^#\/?/, "");
  if (body === "") return [];
  return body.split("/").map((raw) => {
    let text = raw;
    try {
      text = decodeURIComponent(raw);
    } catch {
      // Not URI-encoded after all: use it as written.
    }
    return text.replace(/~1/g, "/").replace(/~0/g, "~");
  });
}

function walk(root: unknown, segments: string[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** `"a.b[2]"` for a location inside the input, `input` for the whole of it. */
function placeName(segments: string[]): string {
  if (segments.length === 0) return "input";
  let text = "";
  for (const segment of segments) text += /^\d+$/.test(segment) ? `[${segment}]` : text === "" ? segment : `.${segment}`;
  return `"${text}"`;
}

/** The property path below a location, for "missing property" and "unknown property". */
function childName(segments: string[], key: string): string {
  return segments.length === 0 ? key : `${placeName(segments).slice(1, -1)}.${key}`;
}

const TYPE_WORDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  integer: "an integer",
  boolean: "true or false",
  object: "an object",
  array: "an array",
  null: "null",
};

/** The JSON type of a value, as the input's author would call it. */
function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describeUnit(unit: OutputUnit, root: Record<string, unknown>, input: unknown): string | undefined {
  const keywordPath = pointerSegments(unit.keywordLocation);
  const where = pointerSegments(unit.instanceLocation);
  // The schema object that holds the failing keyword.
  const owner = walk(root, keywordPath.slice(0, -1)) as Record<string, unknown> | undefined;
  const rule = owner?.[unit.keyword];
  const found = walk(input, where);
  const place = placeName(where);
  switch (unit.keyword) {
    case "required": {
      const key = /required property "(.*)"/.exec(unit.error)?.[1];
      if (key !== undefined) return `missing property "${childName(where, key)}"`;
      break;
    }
    case "additionalProperties": {
      const key = /Property "(.*)" does not match/.exec(unit.error)?.[1];
      if (key === undefined) break;
      if (rule !== false) return undefined; // A schema for extra keys: its own failure is reported below it.
      const properties = owner?.properties;
      const allowed = properties && typeof properties === "object" ? Object.keys(properties) : [];
      const hint = didYouMean(key, allowed);
      return `unknown property "${childName(where, key)}" (${allowed.length > 0 ? `allowed: ${allowed.join(", ")}` : "no properties allowed"})${hint}`;
    }
    case "type": {
      const wanted = (Array.isArray(rule) ? rule : [rule]).filter((t): t is string => typeof t === "string");
      if (wanted.length === 0) break;
      const words = wanted.map((t) => TYPE_WORDS[t] ?? t);
      const got = jsonType(found);
      return `${place} must be ${words.join(" or ")}, got ${got === "integer" ? "number" : got}`;
    }
    case "enum": {
      if (!Array.isArray(rule)) break;
      const hint = typeof found === "string" ? didYouMean(found, rule.filter((v): v is string => typeof v === "string")) : "";
      return `${place} must be one of ${rule.map(shown).join(", ")}, got ${shown(found)}${hint}`;
    }
    case "const":
      return `${place} must be ${shown(rule)}, got ${shown(found)}`;
    case "minimum":
      return `${place} must be at least ${String(rule)}, got ${shown(found)}`;
    case "maximum":
      return `${place} must be at most ${String(rule)}, got ${shown(found)}`;
    case "exclusiveMinimum":
      return `${place} must be greater than ${String(rule)}, got ${shown(found)}`;
    case "exclusiveMaximum":
      return `${place} must be less than ${String(rule)}, got ${shown(found)}`;
    case "minLength":
      return `${place} must be at least ${String(rule)} character${rule === 1 ? "" : "s"} long`;
    case "maxLength":
      return `${place} must be at most ${String(rule)} character${rule === 1 ? "" : "s"} long`;
    case "minItems":
      return `${place} must have at least ${String(rule)} item${rule === 1 ? "" : "s"}`;
    case "maxItems":
      return `${place} must have at most ${String(rule)} item${rule === 1 ? "" : "s"}`;
    case "pattern":
      return `${place} must match the pattern ${String(rule)}, got ${shown(found)}`;
    case "format":
      return `${place} must be a valid ${String(rule)}, got ${shown(found)}`;
  }
  // Anything rarer: the validator's own words, with the place in front.
  return `${place}: ${unit.error.replace(/^Instance /, "")}`;
}
