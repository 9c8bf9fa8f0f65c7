/**
 * The W3C `traceparent` header as it travels with a trigger: checked here
 * (no OpenTelemetry package needed), stored with the queued execution, and
 * turned into a parent span context only where traces are exported.
 */

// version-traceid-parentid-flags; version ff is forbidden, all-zero ids are invalid.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * The header if it is a valid W3C traceparent (lower-cased, trimmed), else
 * undefined: an invalid one is ignored, as the W3C recommendation asks,
 * never an error for the caller.
 */
export function validTraceparent(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== "string" || value.length > 512) return undefined;
  const text = value.trim().toLowerCase();
  const match = TRACEPARENT.exec(text);
  if (!match) return undefined;
  const [, version, traceId, spanId, , rest] = match;
  if (version === "ff") return undefined;
  // Version 00 has exactly four fields; later versions may append more.
  if (version === "00" && rest !== undefined) return undefined;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return undefined;
  return text;
}
