/** Validation of the control API's trigger body: `{input, idempotency_key, wait, timeout}`. */
import { isPlainObject } from "../util/json.js";
import { jsonDepthExceeds, MAX_JSON_DEPTH } from "./json-depth.js";

export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "RequestError";
  }
}

export interface TriggerBody {
  input: Record<string, unknown>;
  idempotency_key?: string;
  wait: boolean;
  /** Seconds to wait at most (with `wait`). */
  timeout?: number;
}

const KNOWN = new Set(["input", "idempotency_key", "wait", "timeout"]);
const RERUN_FIELDS = new Set(["wait", "timeout"]);

/**
 * The body as a JSON object with only `allowed` fields; undefined when it
 * is empty. Too deep, not JSON or not an object is a RequestError.
 */
function parseObjectBody(body: Buffer, allowed: ReadonlySet<string>, expected: string): Record<string, unknown> | undefined {
  const text = body.toString("utf8").trim();
  if (text === "") return undefined;
  if (jsonDepthExceeds(body)) throw new RequestError("invalid_json", `the request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RequestError("invalid_json", "the request body is not valid JSON");
  }
  if (!isPlainObject(parsed)) throw new RequestError("invalid_request", "the request body must be a JSON object");
  const unknown = Object.keys(parsed).filter((k) => !allowed.has(k));
  if (unknown.length > 0) {
    throw new RequestError("invalid_request", `unknown field${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; ${expected}`);
  }
  return parsed;
}

export function parseTriggerBody(body: Buffer): TriggerBody {
  const parsed = parseObjectBody(body, KNOWN, "expected input, idempotency_key, wait, timeout");
  if (parsed === undefined) return { input: {}, wait: false };
  const { input, idempotency_key, wait, timeout } = parsed;
  if (input !== undefined && input !== null && !isPlainObject(input)) throw new RequestError("invalid_request", "input must be a JSON object");
  if (idempotency_key !== undefined && idempotency_key !== null && (typeof idempotency_key !== "string" || idempotency_key === "")) {
    throw new RequestError("invalid_request", "idempotency_key must be a non-empty string");
  }
  if (wait !== undefined && wait !== null && typeof wait !== "boolean") throw new RequestError("invalid_request", "wait must be true or false");
  if (timeout !== undefined && timeout !== null && (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout <= 0)) {
    throw new RequestError("invalid_request", "timeout must be a positive number of seconds");
  }
  return {
    input: (input as Record<string, unknown> | undefined | null) ?? {},
    idempotency_key: (idempotency_key as string | undefined | null) ?? undefined,
    wait: (wait as boolean | undefined | null) ?? false,
    timeout: (timeout as number | undefined | null) ?? undefined,
  };
}

/** The rerun body `{wait, timeout}`: the input is the re-run execution's, so no other field is accepted. */
export function parseRerunBody(body: Buffer): Pick<TriggerBody, "wait" | "timeout"> {
  parseObjectBody(body, RERUN_FIELDS, "a rerun takes wait and timeout (the input is the re-run execution's)");
  const { wait, timeout } = parseTriggerBody(body);
  return { wait, timeout };
}
