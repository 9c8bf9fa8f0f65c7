/** Small helpers over node:http shared by the webhook server and the control API. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "../logging/index.js";

/** Seconds a client is told to wait after a 503 for an unreachable Redis (a reconnect takes about one). */
export const REDIS_RETRY_AFTER = "2";

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** The head of a JSON answer of `text`; `headers` may add or override. */
export function jsonHeaders(text: string, headers: Record<string, string> = {}): Record<string, string> {
  return {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-store",
    ...headers,
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, jsonHeaders(text, headers));
  res.end(text);
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  details?: unknown,
): void {
  const body: ErrorBody = { error: details === undefined ? { code, message } : { code, message, details } };
  sendJson(res, status, body, headers);
}

/**
 * A node:http server around one async handler: a handler that throws gets a
 * 500 (or a cut connection once headers are out), a request node's parser
 * refuses (malformed request line or headers) gets a bare 400, and a head
 * that took too long a 408 (a connection that sent nothing is just closed).
 */
export function createHttpServer(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  logger: Logger,
  what: string,
  options: { headersTimeoutMs?: number } = {},
): Server {
  // Timeouts are checked on this interval: a fraction of the head timeout
  // keeps the 10 s bound close to 10 s (node's default checks every 30 s).
  const interval = Math.max(50, Math.min(1_000, Math.floor((options.headersTimeoutMs ?? 10_000) / 5)));
  const server = createServer({ connectionsCheckingInterval: interval }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, `${what} request failed`);
      if (!res.headersSent) sendError(res, 500, "internal_error", "internal error");
      else res.destroy();
    });
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    const timedOut = err.code === "ERR_HTTP_REQUEST_TIMEOUT";
    // Answer only when no response is already being written on this socket,
    // and not to a connection that never sent a byte.
    if (socket.writable && !("_httpMessage" in socket && socket._httpMessage) && !(timedOut && (socket as Socket).bytesRead === 0)) {
      socket.end(timedOut ? "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n" : "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    } else socket.destroy();
    logger.debug({ code: err.code }, timedOut ? `${what} connection timed out` : `malformed ${what} request`);
  });
  return server;
}

/** Request headers with lower-case names and single string values. */
export function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

export function parseUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? "/", "http://localhost");
  } catch {
    return undefined;
  }
}

export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = header.split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}
