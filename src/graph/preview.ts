/** Keeps event payloads small: huge values are cut before they go on the bus and into logs. */
import { safeStringify } from "../util/json.js";

/** Characters of a value kept in an event. */
const PREVIEW_MAX_CHARS = 8192;

/** The value itself when small; a cut string, or `{truncated, chars, preview}` for a large object. */
export function preview(value: unknown, max = PREVIEW_MAX_CHARS): unknown {
  if (typeof value === "string") {
    return value.length > max ? `${value.slice(0, max)}… [truncated, ${value.length} chars]` : value;
  }
  if (value === null || value === undefined || typeof value !== "object") return value ?? null;
  const text = safeStringify(value);
  if (text === undefined) return null;
  if (text.length <= max) return value;
  return { truncated: true, chars: text.length, preview: text.slice(0, max) };
}

/** A value as text for a model or a message: strings as they are, everything else as JSON. */
export function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "null";
  return safeStringify(value) ?? "null";
}
