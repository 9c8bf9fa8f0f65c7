/**
 * Request bodies on both listeners: read with a size and a time bound, and
 * refused the way nginx refuses them (the answer first, the rest of the
 * body read and dropped, then the close), so a client still sending sees
 * the 413 instead of a reset (SPEC 5).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { jsonHeaders } from "./http-util.js";

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

export class BodyAbortedError extends Error {
  constructor() {
    super("request body was cut off");
    this.name = "BodyAbortedError";
  }
}

export class BodyTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`request body did not arrive within ${Math.round(timeoutMs / 1000)} s`);
    this.name = "BodyTimeoutError";
  }
}

/** How long a whole body may take to arrive (SPEC 5: 60 s). */
export const BODY_TIMEOUT_MS = 60_000;

/**
 * Reads the whole body, refusing (without buffering further) as soon as it
 * passes `limit` bytes, or when it has not fully arrived after `timeoutMs`.
 * A declared Content-Length over the limit is refused before any byte is read.
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs: number = BODY_TIMEOUT_MS): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const timer = setTimeout(() => fail(new BodyTimeoutError(timeoutMs)), timeoutMs);
    timer.unref();
    const cleanup = () => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
      req.off("close", onClose);
    };
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      cleanup();
      chunks.length = 0;
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        fail(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = () => fail(new BodyAbortedError());
    const onAborted = () => fail(new BodyAbortedError());
    const onClose = () => {
      if (!req.complete) fail(new BodyAbortedError());
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
    req.on("close", onClose);
  });
}

/** Bounds of reading and dropping a refused body (nginx's lingering close). */
export interface DrainLimits {
  /** Bytes read and dropped at most; then the connection is closed. */
  maxBytes: number;
  /** Milliseconds of draining at most. */
  maxMs: number;
  /** Milliseconds without a byte from the client before giving up. */
  idleMs: number;
}

export const DEFAULT_DRAIN_LIMITS: DrainLimits = { maxBytes: 64 * 1024 * 1024, maxMs: 30_000, idleMs: 5_000 };

/**
 * Refuses a request whose body may still be arriving: the whole JSON answer
 * is written at once (with `connection: close`), but the response is only
 * ended, and so the connection only closed, once the rest of the body has
 * been read and dropped or a bound in `limits` is reached. Closing earlier
 * would make the client's kernel answer its next bytes with a reset, and
 * the client would see EPIPE/ECONNRESET instead of the status.
 */
export function refuseAndDrain(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  limits: DrainLimits = DEFAULT_DRAIN_LIMITS,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, jsonHeaders(text, { ...headers, connection: "close" }));
  // The answer is complete for the client by its length; ending the
  // response is what makes node close the socket, so it waits.
  res.write(text);
  if (req.complete || req.readableEnded || req.destroyed) {
    res.end();
    return;
  }
  let drained = 0;
  let idle: NodeJS.Timeout | undefined;
  const overall = setTimeout(() => finish(), limits.maxMs);
  overall.unref();
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => finish(), limits.idleMs);
    idle.unref();
  };
  const onData = (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > limits.maxBytes) finish();
    else armIdle();
  };
  const onGone = () => finish();
  let finished = false;
  function finish(): void {
    if (finished) return;
    finished = true;
    clearTimeout(overall);
    clearTimeout(idle);
    req.off("data", onData);
    req.off("end", onGone);
    req.off("error", onGone);
    req.off("close", onGone);
    // Node closes the connection once this response has been flushed.
    if (!res.writableEnded) res.end();
  }
  armIdle();
  req.on("data", onData);
  req.on("end", onGone);
  req.on("error", onGone);
  req.on("close", onGone);
  req.resume();
}
