/**
 * Turns what the AI SDK throws into an LlmError a user can act on, with
 * the provider's own message and status, and decides whether forager retries.
 */
import { errorMessage } from "../errors.js";
import { LlmError } from "./types.js";
import { retryAfterMs } from "./retry.js";

export interface ClassifiedFailure {
  error: LlmError;
  /** Server's requested wait, when it sent Retry-After / retry-after-ms. */
  retryAfterMs?: number;
}

/** The fields of the AI SDK's APICallError forager reads (checked by duck typing). */
interface ApiCallErrorLike {
  message: string;
  statusCode?: number;
  responseHeaders?: Record<string, string>;
  responseBody?: string;
  isRetryable?: boolean;
  cause?: unknown;
}

function isApiCallError(err: unknown): err is ApiCallErrorLike {
  return err instanceof Error && err.name === "AI_APICallError";
}

/** Statuses worth another try: rate limits, timeouts at a proxy, overload, server faults. */
function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

export function classifyFailure(err: unknown, provider: string, baseUrl: string, now: number): ClassifiedFailure {
  if (err instanceof LlmError) return { error: err };
  if (isApiCallError(err)) {
    const status = err.statusCode;
    const message = providerMessage(err);
    if (status === undefined) {
      // No HTTP status: the connection failed or broke before a full reply.
      return {
        error: new LlmError(`cannot reach ${provider} at ${baseUrl}: ${message}`, { retryable: true, cause: err }),
      };
    }
    if (status < 300) {
      // The server said 200 but the body broke off or is not the wire format (a proxy page,
      // a dropped connection): a transient fault, worth another try.
      return {
        error: new LlmError(`${provider} sent an incomplete or unreadable reply: ${withCause(err)}`, {
          retryable: true,
          cause: err,
        }),
      };
    }
    const retryable = isRetryableStatus(status);
    return {
      error: new LlmError(describeStatus(provider, status, message), { status, retryable, cause: err }),
      retryAfterMs: retryable ? retryAfterMs(err.responseHeaders, now) : undefined,
    };
  }
  if (err instanceof Error && (err.name === "AI_JSONParseError" || err.name === "AI_TypeValidationError")) {
    // A reply that is not the wire format: a proxy page, or a body cut short.
    return {
      error: new LlmError(`${provider} sent a reply forager cannot read: ${shorten(errorMessage(err))}`, {
        retryable: true,
        cause: err,
      }),
    };
  }
  if (isNetworkError(err)) {
    return {
      error: new LlmError(`cannot reach ${provider} at ${baseUrl}: ${networkMessage(err)}`, { retryable: true, cause: err }),
    };
  }
  return { error: new LlmError(`${provider} call failed: ${shorten(errorMessage(err))}`, { cause: err }) };
}

function describeStatus(provider: string, status: number, message: string): string {
  if (status === 401) return `authentication failed: ${message} (check llm.api_key)`;
  if (status === 403) return `permission denied (403): ${message}`;
  if (status === 404) return `${provider} answered 404: ${message} (check llm.model and llm.base_url)`;
  if (status === 429) return `rate limited by ${provider} (429): ${message}`;
  if (status >= 500) return `${provider} server error (${status}): ${message}`;
  return `${provider} rejected the request (${status}): ${message}`;
}

/** The provider's own words: the AI SDK puts the parsed error.message in `message`; fall back to the body. */
function providerMessage(err: ApiCallErrorLike): string {
  const message = err.message?.trim();
  if (message && !/^(Bad Request|Unauthorized|Too Many Requests|Internal Server Error)$/i.test(message)) return shorten(message);
  if (err.responseBody) return shorten(err.responseBody);
  return message || "no message";
}

const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_SOCKET"]);

function isNetworkError(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
    if (current instanceof TypeError && /fetch failed|terminated|other side closed/i.test(current.message)) return true;
    current = current.cause;
  }
  return false;
}

function networkMessage(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    if (!parts.includes(current.message)) parts.push(current.message);
    current = current.cause;
  }
  return parts.join(": ");
}

function withCause(err: ApiCallErrorLike): string {
  const cause = err.cause instanceof Error && err.cause.message !== err.message ? `: ${err.cause.message}` : "";
  return shorten(`${err.message}${cause}`);
}

function shorten(text: string, max = 500): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > max ? `${oneLine.slice(0, max)}...` : oneLine;
}
