/**
 * Bounds on connections (SPEC 5): a connection that sends no complete
 * request head within 10 s is closed, a body has 60 s (enforced by
 * readBody), and each listener caps its open connections so that a flood of
 * idle sockets on one port can never use up the file descriptors storage
 * and the other listener need.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Server } from "node:http";
import type { Logger } from "../logging/index.js";
import { BODY_TIMEOUT_MS } from "./body.js";

/** Time bounds of one listener, in milliseconds. */
export interface ConnectionTimeouts {
  /** A new connection's request head (and an idle connection's next one) must arrive within this. */
  headersMs: number;
  /** A request's body must arrive within this once the head is in. */
  bodyMs: number;
}

export const DEFAULT_TIMEOUTS: ConnectionTimeouts = { headersMs: 10_000, bodyMs: BODY_TIMEOUT_MS };

/** File descriptors kept free for storage, logs, tool and MCP pipes. */
export const STORAGE_FD_RESERVE = 64;

/** The soft limit on open files (`ulimit -n`), or undefined where it cannot be read. */
export function openFileLimit(): number | undefined {
  try {
    const text = readFileSync("/proc/self/limits", "utf8");
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    if (!m || m[1] === "unlimited") return undefined;
    return Number(m[1]);
  } catch {
    return undefined;
  }
}

/** File descriptors this process has open now, or undefined where that cannot be seen. */
export function openFileCount(): number | undefined {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return undefined;
  }
}

export interface ConnectionCaps {
  webhook: number;
  control: number;
  /** The open-file limit the caps were fitted into, when known. */
  fileLimit?: number;
  /** True when the limit forced caps below `max_connections`. */
  limitedByFiles: boolean;
}

/**
 * Open connections each listener may hold: `maxConnections` unless the
 * open-file limit leaves less after what is already open and a reserve for
 * storage. The control API gets a quarter of what is left (it serves a few
 * operators), the webhook listener the rest, so neither can starve the other.
 */
export function connectionCaps(maxConnections: number, fileLimit = openFileLimit(), openNow = openFileCount()): ConnectionCaps {
  if (fileLimit === undefined) return { webhook: maxConnections, control: maxConnections, limitedByFiles: false };
  const spare = Math.max(2, fileLimit - (openNow ?? 32) - STORAGE_FD_RESERVE);
  const control = Math.max(1, Math.min(maxConnections, Math.floor(spare / 4)));
  const webhook = Math.max(1, Math.min(maxConnections, spare - control));
  return { webhook, control, fileLimit, limitedByFiles: webhook < maxConnections || control < maxConnections };
}

/**
 * Applies the caps and timeouts to a node:http server: connections over
 * the cap are closed as soon as they are accepted, slow heads get a 408
 * (or a plain close when nothing was sent), and a failed accept (EMFILE)
 * is logged instead of crashing the process.
 */
export function limitConnections(server: Server, maxConnections: number, timeouts: ConnectionTimeouts, logger: Logger, what: string): void {
  server.maxConnections = maxConnections;
  server.headersTimeout = timeouts.headersMs;
  // A backstop behind readBody's own body timer.
  server.requestTimeout = timeouts.headersMs + timeouts.bodyMs + 5_000;
  server.keepAliveTimeout = Math.min(5_000, timeouts.headersMs);
  let dropped = 0;
  let lastWarn = 0;
  server.on("drop", () => {
    dropped++;
    const now = Date.now();
    if (now - lastWarn >= 10_000) {
      lastWarn = now;
      logger.warn({ max_connections: maxConnections, dropped }, `${what}: connection cap reached, new connections are closed`);
    }
  });
  server.on("error", (err: NodeJS.ErrnoException) => {
    // After listening, the only errors are failed accepts: running out of
    // file descriptors must not take the process down.
    if (!server.listening) return;
    const now = Date.now();
    if (now - lastWarn >= 10_000) {
      lastWarn = now;
      logger.warn({ code: err.code }, `${what}: accepting a connection failed`);
    }
  });
}
