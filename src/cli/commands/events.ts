/**
 * `forager events [--types T,...] [--json]`: follow a running server's live
 * events (SSE) until interrupted, one readable line each or one JSON object a
 * line. When the server goes away, reconnect with backoff (finding it again
 * through serve.json, whose port and token change on restart) for
 * `--reconnect-for` seconds, then exit 2 with one line saying so.
 */
import type { CliContext } from "../context.js";
import { UsageError } from "../../errors.js";
import { discoverServer, type ServerTarget } from "../../client/index.js";
import { followEvents } from "../../client/event-stream.js";
import { EVENT_TYPES, isEventType, type ForagerEvent } from "../../events/types.js";
import { ConnectionError } from "../../errors.js";
import { sleep } from "../../util/abort.js";
import { oneLine } from "../report-error.js";

interface EventsFlags {
  types?: string;
  json?: boolean;
  reconnectFor?: string;
  url?: string;
  token?: string;
  storage?: string;
}

const DEFAULT_RECONNECT_SECONDS = 60;
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 5_000;

function parseTypes(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const types = text
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== "");
  const unknown = types.filter((t) => !isEventType(t));
  if (types.length === 0 || unknown.length > 0) {
    throw new UsageError(`--types: unknown event type${unknown.length === 1 ? "" : "s"} ${unknown.join(", ") || "(none given)"}`, {
      hint: `known types: ${EVENT_TYPES.join(", ")}`,
    });
  }
  return types;
}

function parseReconnect(text: string | undefined): number {
  if (text === undefined) return DEFAULT_RECONNECT_SECONDS;
  const seconds = Number(text);
  if (text.trim() === "" || !Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(`--reconnect-for must be a number of seconds (0 to exit at once), got "${text}"`);
  }
  return seconds;
}

/** One readable line: time, type, agent/stream, execution, node and the detail that matters for the type. */
export function eventLine(event: ForagerEvent): string {
  const time = event.timestamp.slice(11, 23);
  const where = [event.graph_id, event.stream_id].filter(Boolean).join("/");
  const parts = [time, event.type.padEnd(19), where || "-"];
  if (event.execution_id) parts.push(event.execution_id);
  if (event.node_id) parts.push(`node=${event.node_id}`);
  const detail = eventDetail(event.data);
  if (detail) parts.push(detail);
  return parts.join("  ");
}

function eventDetail(data: Record<string, unknown>): string {
  const out: string[] = [];
  for (const key of ["status", "tool", "model", "to", "reason", "attempt", "duration_ms", "key"]) {
    const value = data[key];
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") out.push(`${key}=${String(value)}`);
  }
  const error = data.error;
  const message = typeof error === "string" ? error : typeof error === "object" && error !== null ? (error as { message?: unknown }).message : undefined;
  if (typeof message === "string") out.push(`error=${JSON.stringify(message.replace(/\s*\n\s*/g, " "))}`);
  return out.join(" ");
}

export async function eventsCommand(ctx: CliContext, _args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const flags = opts as EventsFlags;
  const types = parseTypes(flags.types);
  const reconnectMs = parseReconnect(flags.reconnectFor) * 1000;
  const discovery = { url: flags.url, token: flags.token, storage: flags.storage, env: ctx.env, cwd: ctx.cwd };
  const print = (event: ForagerEvent) => ctx.out(flags.json ? `${JSON.stringify(event)}\n` : `${eventLine(event)}\n`);
  const interrupted = () => (ctx.interrupt.reason === "SIGTERM" ? 143 : 130);

  // The first connection must work: no server is a usage error (exit 2), as for every client command.
  let target: ServerTarget = await discoverServer(discovery);
  let end = await followEvents(target, print, { types, signal: ctx.interrupt });
  for (;;) {
    if (ctx.interrupt.aborted) return interrupted();
    let reason = end.reason;
    const gone = () =>
      new ConnectionError(
        `the server at ${target.url} went away (${reason})${reconnectMs > 0 ? ` and did not come back within ${reconnectMs / 1000}s` : ""}; ` +
          "start `forager serve` again, or pass --reconnect-for SEC to wait longer",
      );
    if (reconnectMs === 0) throw gone();
    ctx.err(`events: ${reason}; reconnecting for up to ${reconnectMs / 1000}s\n`);
    const deadline = Date.now() + reconnectMs;
    let backoff = FIRST_BACKOFF_MS;
    let reconnected = false;
    while (!reconnected) {
      if (Date.now() >= deadline) throw gone();
      try {
        await sleep(Math.min(backoff, Math.max(0, deadline - Date.now())), ctx.interrupt);
      } catch {
        return interrupted();
      }
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      try {
        // Found again through serve.json: a restarted server has a new port and token.
        target = await discoverServer(discovery);
        end = await followEvents(target, print, {
          types,
          signal: ctx.interrupt,
          onOpen: () => {
            reconnected = true;
            ctx.err(`events: reconnected to ${target.url}\n`);
          },
        });
      } catch (err) {
        // Still gone (refused, no serve.json yet): keep trying. A refused token or bad types will not get better.
        if (!(err instanceof ConnectionError) || /refused the token/.test(err.message)) throw err;
        reason = /\(([^)]*)\)/.exec(err.message)?.[1] ?? oneLine(err.message);
      }
      if (ctx.interrupt.aborted) return interrupted();
    }
  }
}
