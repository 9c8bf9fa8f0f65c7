/** Small helpers over node:http shared by the webhook server and the control API. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "../logging/index.js";

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-store",
    ...headers,
  });
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
 * 500 (or a cut connection once headers are out), and a request node's
 * parser refuses (malformed request line or headers) gets a bare 400.
 */
export function createHttpServer(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>, logger: Logger, what: string): Server {
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, `${what} request failed`);
      if (!res.headersSent) sendError(res, 500, "internal_error", "internal error");
      else res.destroy();
    });
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    // Answer only when no response is already being written on this socket.
    if (socket.writable && !("_httpMessage" in socket && socket._httpMessage)) {
      socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    } else socket.destroy();
    logger.debug({ code: err.code }, `malformed ${what} request`);
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
