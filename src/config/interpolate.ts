/**
 * `${VAR}` / `${VAR:-default}` / `$${` (SPEC 3.1), applied to every string
 * value of the YAML AST before schema validation, so problems keep their
 * line and column. Keys are left alone: they name things, they are not values.
 */
import type { Document, Scalar } from "yaml";
import { yaml } from "./yaml.js";
import { isSecretName } from "../logging/redact.js";
import type { KeyPath } from "./positions.js";

export interface InterpolationProblem {
  path: KeyPath;
  message: string;
  /** Set when the problem is an unset variable with no default: `validate` reports it as a warning. */
  variable?: string;
}

/** A value that came (partly) from the environment. */
export interface InterpolatedValue {
  path: KeyPath;
  /** The text after substitution: what the file holds now. */
  text: string;
  /** The text read as a YAML scalar (a number, boolean or null), when it reads as one. */
  typed?: number | boolean | null;
}

export interface InterpolationResult {
  problems: InterpolationProblem[];
  values: InterpolatedValue[];
  /** Values of secret-looking variables substituted into the file: the loader scrubs them while the agent lives. */
  secrets: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Substitutes one string; a missing variable is a problem (its placeholder becomes empty text). */
export function interpolateString(
  text: string,
  env: NodeJS.ProcessEnv,
  /** Text standing in for an unset variable (still reported); default: nothing. */
  standIn?: (name: string) => string,
): { text: string; problems: string[]; placeholders: number; unset: string[]; secrets: string[] } {
  let out = "";
  const problems: string[] = [];
  const secrets: string[] = [];
  const unset: string[] = [];
  let placeholders = 0;
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("$${", i)) {
      out += "${";
      i += 3;
      continue;
    }
    if (!text.startsWith("${", i)) {
      out += text[i];
      i++;
      continue;
    }
    const close = text.indexOf("}", i + 2);
    if (close < 0) {
      problems.push(`unclosed "\${" in ${JSON.stringify(text)}; write "$\${" for a literal "\${"`);
      out += text.slice(i);
      break;
    }
    const body = text.slice(i + 2, close);
    const split = body.indexOf(":-");
    const name = split >= 0 ? body.slice(0, split) : body;
    const fallback = split >= 0 ? body.slice(split + 2) : undefined;
    placeholders++;
    if (!NAME.test(name)) {
      problems.push(`bad placeholder "\${${body}}": expected \${NAME} or \${NAME:-default}`);
    } else {
      const value = env[name];
      if (value !== undefined && value !== "") {
        if (isSecretName(name)) secrets.push(value);
        out += value;
      } else if (fallback !== undefined) {
        out += fallback;
      } else if (value === "") {
        out += "";
      } else {
        problems.push(`environment variable ${name} is not set (set it, or give a default: \${${name}:-value})`);
        unset.push(name);
        if (standIn) out += standIn(name);
      }
    }
    i = close + 1;
  }
  return { text: out, problems, placeholders, unset, secrets };
}

function typedScalar(text: string): number | boolean | null | undefined {
  if (!/^\s*(?:[-+]?(?:\d[\d_]*)?\.?\d+(?:[eE][-+]?\d+)?|true|false|True|False|TRUE|FALSE|null|~)\s*$/.test(text)) {
    return undefined;
  }
  try {
    const value: unknown = yaml().parse(text);
    if (typeof value === "number" || typeof value === "boolean" || value === null) return value;
  } catch {
    // not a scalar after all: stays a string
  }
  return undefined;
}

/** Substitutes in place, in every string value of the document. */
export function interpolateDocument(doc: Document, env: NodeJS.ProcessEnv, standIn?: (name: string) => string): InterpolationResult {
  const result: InterpolationResult = { problems: [], values: [], secrets: [] };
  const visitScalar = (scalar: Scalar, path: KeyPath) => {
    if (typeof scalar.value !== "string" || !scalar.value.includes("${")) return;
    const done = interpolateString(scalar.value, env, standIn);
    result.secrets.push(...done.secrets);
    for (const message of done.problems) {
      const variable = done.unset.find((name) => message.startsWith(`environment variable ${name} `));
      result.problems.push(variable === undefined ? { path, message } : { path, message, variable });
    }
    if (done.placeholders === 0 && done.text === scalar.value) return;
    scalar.value = done.text;
    const typed = done.placeholders > 0 ? typedScalar(done.text) : undefined;
    result.values.push(typed === undefined ? { path, text: done.text } : { path, text: done.text, typed });
  };
  const walk = (node: unknown, path: KeyPath) => {
    if (yaml().isMap(node)) {
      for (const pair of node.items) {
        if (!yaml().isPair(pair)) continue;
        const key = yaml().isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        walk(pair.value, [...path, key]);
      }
    } else if (yaml().isSeq(node)) {
      node.items.forEach((item, index) => walk(item, [...path, index]));
    } else if (yaml().isScalar(node)) {
      visitScalar(node, path);
    }
  };
  walk(doc.contents, []);
  return result;
}
