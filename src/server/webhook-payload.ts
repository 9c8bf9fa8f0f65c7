/** Turns a webhook request into the data of its `webhook_received` event (SPEC 5). */
import { REDACTED, SECRET_HEADERS } from "../logging/index.js";
import { isJsonContentType } from "./http-util.js";
import { jsonDepthExceeds, MAX_JSON_DEPTH } from "./json-depth.js";
import { rememberJsonText } from "../storage/raw-json.js";

export class InvalidJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidJsonError";
  }
}

/**
 * The payload: parsed JSON for a JSON content type (invalid JSON, or JSON
 * nested deeper than MAX_JSON_DEPTH, throws InvalidJsonError), an object
 * for a form body, else `{raw_body: text}`.
 */
export function parsePayload(body: Buffer, contentType: string | undefined): unknown {
  const text = body.toString("utf8");
  if (isJsonContentType(contentType)) {
    if (jsonDepthExceeds(body)) throw new InvalidJsonError(`body nests deeper than ${MAX_JSON_DEPTH} levels`);
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch (err) {
      throw new InvalidJsonError(`body is not valid JSON: ${(err as Error).message}`);
    }
    // The ingest log writes the body as it came rather than serialising the parsed value again.
    rememberJsonText(value, text);
    return value;
  }
  const type = contentType?.split(";")[0]!.trim().toLowerCase();
  if (type === "application/x-www-form-urlencoded") return formToObject(text);
  return { raw_body: text };
}

/** A form body as an object; a repeated field becomes an array. */
export function formToObject(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of new URLSearchParams(text)) {
    const existing = out[key];
    if (existing === undefined) out[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[key] = [existing, value];
  }
  return { ...out };
}

// Parts of query parameter names that say the value is a secret
// (`?token=`, `?api_key=`, `?sig=`, `?access_token=`, `?X-Amz-Signature=`).
const SECRET_QUERY_PARTS = ["token", "secret", "key", "signature", "sig", "password", "passwd", "pwd", "auth", "credential", "jwt", "hmac"];

/** True when a query parameter's name says its value is a secret (case-insensitive, anywhere in the name). */
export function isSecretQueryName(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_QUERY_PARTS.some((part) => lower.includes(part));
}

/**
 * The query string as an object for the event, with the values of
 * secret-named parameters replaced by "[REDACTED]": the event is stored and
 * streamed, and a token in a URL must not be.
 */
export function queryToObject(url: URL): Record<string, string | string[]> {
  // Most deliveries have no query string: nothing to parse or redact.
  if (url.search === "") return {};
  const out = formToObject(url.searchParams.toString());
  for (const [name, value] of Object.entries(out)) {
    if (isSecretQueryName(name)) out[name] = Array.isArray(value) ? value.map(() => REDACTED) : REDACTED;
  }
  return out;
}

const ALWAYS_REMOVED = new Set(SECRET_HEADERS);

/** Lower-case headers without signatures, credentials or cookies. */
export function eventHeaders(headers: Record<string, string>, extraSecretHeaders: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const extra = new Set(extraSecretHeaders.map((h) => h.toLowerCase()));
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (ALWAYS_REMOVED.has(lower) || extra.has(lower)) continue;
    out[lower] = value;
  }
  return out;
}
