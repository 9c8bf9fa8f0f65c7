/**
 * The one place that evaluates expressions: CEL (Common Expression
 * Language) for `{{ expr }}` templates and `when` conditions. Never eval.
 *
 * CEL keeps integers and doubles apart (`1 + 1.0` is an error) while JSON
 * does not, so integral numbers go in as CEL ints and every int comes back
 * out as a JS number: `memory.count + 1` works on a count read from JSON.
 */
import type * as Cel from "@marcbachmann/cel-js";
import { onFirstUse } from "../util/lazy.js";
export class ExpressionError extends Error {
  readonly expression: string;
  constructor(expression: string, message: string, options?: { cause?: unknown }) {
    super(`expression \`${expression}\`: ${message}`, options);
    this.name = "ExpressionError";
    this.expression = expression;
  }
}

type Compiled = (scope: Record<string, unknown>) => unknown;

const cel = onFirstUse<typeof Cel>("@marcbachmann/cel-js", () =>
  typeof require === "function" ? require("@marcbachmann/cel-js") : undefined,
);

let environmentInstance: Cel.Environment | undefined;
function environment(): Cel.Environment {
  return (environmentInstance ??= new (cel().Environment)({
    unlistedVariablesAreDyn: true,
    homogeneousAggregateLiterals: false,
    enableOptionalTypes: true,
  }));
}

// Agents evaluate the same few expressions over and over: parse each once.
const cache = new Map<string, Compiled>();
const CACHE_MAX = 2000;

function firstLine(message: string): string {
  return message.split("\n")[0]!.trim();
}

export function compileExpression(expression: string): Compiled {
  const hit = cache.get(expression);
  if (hit) return hit;
  let parsed: Compiled;
  try {
    parsed = environment().parse(expression) as unknown as Compiled;
  } catch (err) {
    throw new ExpressionError(expression, firstLine(err instanceof Error ? err.message : String(err)), { cause: err });
  }
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(expression, parsed);
  return parsed;
}

/** Throws ExpressionError when the expression does not parse; used by validation. */
export function checkExpression(expression: string): void {
  compileExpression(expression);
}

export function evaluateExpression(expression: string, scope: Record<string, unknown>): unknown {
  const compiled = compileExpression(expression);
  try {
    return fromCel(compiled(toCel(scope) as Record<string, unknown>));
  } catch (err) {
    throw new ExpressionError(expression, firstLine(err instanceof Error ? err.message : String(err)), { cause: err });
  }
}

/** A `when` condition: must evaluate to a boolean. */
export function evaluateCondition(expression: string, scope: Record<string, unknown>): boolean {
  const value = evaluateExpression(expression, scope);
  if (typeof value !== "boolean") {
    throw new ExpressionError(expression, `expected a boolean, got ${describe(value)}`);
  }
  return value;
}

const TEMPLATE = /\{\{([\s\S]*?)\}\}/g;
const SINGLE = /^\s*\{\{([\s\S]*?)\}\}\s*$/;

/** True when a string holds at least one `{{ }}`. */
export function isTemplate(text: string): boolean {
  return text.includes("{{");
}

/**
 * Renders templates anywhere inside a value (strings, arrays, objects).
 * A string that is exactly one `{{ expr }}` keeps the value's type;
 * otherwise values are rendered into the text (objects as JSON).
 */
export function renderTemplate(value: unknown, scope: Record<string, unknown>): unknown {
  if (typeof value === "string") return renderString(value, scope);
  if (Array.isArray(value)) return value.map((item) => renderTemplate(item, scope));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = renderTemplate(item, scope);
    return out;
  }
  return value;
}

function renderString(text: string, scope: Record<string, unknown>): unknown {
  if (!isTemplate(text)) return text;
  const single = SINGLE.exec(text);
  if (single && !single[1]!.includes("{{")) return evaluateExpression(single[1]!.trim(), scope);
  return text.replace(TEMPLATE, (_match, expr: string) => toText(evaluateExpression(expr.trim(), scope)));
}

/** Every expression inside a template string, for validation. */
export function templateExpressions(text: string): string[] {
  return [...text.matchAll(TEMPLATE)].map((m) => m[1]!.trim());
}

function toText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "a map" : `${typeof value} ${JSON.stringify(value)}`;
}

function toCel(value: unknown): unknown {
  if (typeof value === "number") return Number.isInteger(value) && Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCel);
  if (value !== null && typeof value === "object" && !(value instanceof Uint8Array) && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = toCel(item);
    return out;
  }
  return value;
}

function fromCel(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  // `{{ memory.?x }}`: an optional is its value, or null when empty.
  if (value instanceof cel().Optional) return value.hasValue() ? fromCel(value.value()) : null;
  if (Array.isArray(value)) return value.map(fromCel);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of value) out[String(key)] = fromCel(item);
    return out;
  }
  if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) out[key] = fromCel(item);
      return out;
    }
  }
  return value;
}
