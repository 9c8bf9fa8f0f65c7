/**
 * The JSON text a parsed value came from, kept beside it so the value can be
 * written out again without serialising it a second time: a webhook's
 * payload was parsed from its body, and writing the event to the ingest log
 * would otherwise turn the same 2 KB back into text. The text is used only
 * where it is exactly one JSON value on one line.
 */
import type { ForagerEvent } from "../events/types.js";

const texts = new WeakMap<object, string>();

/**
 * Remembers that `value` is what `text` parses to (a JSON object or array),
 * when `text` can sit inside a JSON line: no line break. The caller must not
 * change `value` afterwards.
 */
export function rememberJsonText(value: unknown, text: string): void {
  if (typeof value === "object" && value !== null && !text.includes("\n")) texts.set(value, text);
}

/** Drops the text remembered for `value`, if any: once the value's event is recorded, or when it never will be. */
export function forgetJsonText(value: unknown): void {
  if (typeof value === "object" && value !== null) texts.delete(value);
}

/**
 * One JSON line for `event` (no trailing newline): `JSON.stringify(event)`,
 * except that a `data.payload` whose text was remembered is spliced in as
 * that text instead of being serialised again. Parsing the line gives the
 * same event either way. The text is used once and then forgotten: the
 * event itself lives on (the bus keeps recent ones), and a second copy of
 * every payload would only make each collection of young objects longer.
 */
export function eventJsonLine(event: ForagerEvent): string {
  const data = event.data as Record<string, unknown> | undefined;
  const payload = data?.payload;
  let text: string | undefined;
  if (typeof payload === "object" && payload !== null) {
    text = texts.get(payload);
    if (text !== undefined) texts.delete(payload);
  }
  if (text === undefined || !endsWithPayload(event, data!)) return JSON.stringify(event);
  // `payload` is the last member of `data`, itself the last member of the
  // event, so its value is the end of the line but for the two closing braces.
  const head = JSON.stringify({ ...event, data: { ...data, payload: null } });
  return `${head.slice(0, head.length - NULL_TAIL.length)}${text}}}`;
}

const NULL_TAIL = "null}}";

function endsWithPayload(event: ForagerEvent, data: Record<string, unknown>): boolean {
  // A toJSON anywhere above the payload would change what is written: only plain members are spliced.
  return lastKey(event) === "data" && lastKey(data) === "payload" && !hasToJson(event) && !hasToJson(data);
}

function hasToJson(value: object): boolean {
  return typeof (value as { toJSON?: unknown }).toJSON === "function";
}

function lastKey(value: object): string | undefined {
  let last: string | undefined;
  for (const key in value) if (Object.prototype.hasOwnProperty.call(value, key)) last = key;
  return last;
}
