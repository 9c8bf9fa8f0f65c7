/**
 * Reading the control API's `GET /events` (Server-Sent Events) from another
 * process: one connection, parsed into events, ended by the server, the
 * network, a silent peer (no heartbeat) or the caller's signal.
 */
import { ConnectionError, UsageError } from "../errors.js";
import type { ForagerEvent } from "../events/types.js";
import { errorText } from "./control-client.js";
import { noServerError, type ServerTarget } from "./discovery.js";

export interface StreamOptions {
  /** Event types for `?types=`. */
  types?: readonly string[];
  signal: AbortSignal;
  /** Called once the server has answered 200: the stream is live. */
  onOpen?: () => void;
  /** Nothing at all (not even a heartbeat) for this long: the connection is dead. Default 45 s (three heartbeats). */
  idleMs?: number;
}

/** How a stream ended when the caller did not stop it. */
export interface StreamEnd {
  reason: string;
}

/** Splits an SSE byte stream into `data:` payloads; comments (heartbeats) only count as life. */
export class SseParser {
  private buffer = "";
  private data: string[] = [];

  /** Feeds text; returns the complete messages' data. */
  push(text: string): string[] {
    this.buffer += text;
    const out: string[] = [];
    let newline: number;
    while ((newline = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, newline).replace(/\r$/, "");
      this.buffer = this.buffer.slice(newline + 1);
      if (line === "") {
        if (this.data.length > 0) out.push(this.data.join("\n"));
        this.data = [];
      } else if (line.startsWith("data:")) {
        this.data.push(line.slice(5).replace(/^ /, ""));
      }
      // `event:`, `id:` and `:` comments carry nothing the data does not.
    }
    return out;
  }
}

/**
 * Follows the stream, calling `onEvent` per event, until it ends. Resolves
 * with why it ended (server closed, network error, silence); rejects for
 * answers that retrying will not fix (bad token, bad types) and when the
 * first connection fails (no server).
 */
export async function followEvents(
  target: ServerTarget,
  onEvent: (event: ForagerEvent) => void,
  options: StreamOptions,
): Promise<StreamEnd> {
  const query = options.types && options.types.length > 0 ? `?types=${encodeURIComponent(options.types.join(","))}` : "";
  const url = `${target.url}/events${query}`;
  const idle = new AbortController();
  const signal = AbortSignal.any([options.signal, idle.signal]);
  const idleMs = options.idleMs ?? 45_000;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const touch = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => idle.abort(new Error("silence")), idleMs);
  };

  let response: Response;
  try {
    touch();
    response = await fetch(url, {
      headers: { accept: "text/event-stream", ...(target.token ? { authorization: `Bearer ${target.token}` } : {}) },
      signal,
    });
  } catch (err) {
    clearTimeout(idleTimer);
    if (options.signal.aborted) return { reason: "stopped" };
    throw noServerError(`${target.url}: ${networkCode(err)}`);
  }
  if (response.status !== 200) {
    clearTimeout(idleTimer);
    const text = await response.text().catch(() => "");
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: the text itself is the message.
    }
    if (response.status === 401) {
      throw new ConnectionError(`the control API at ${target.url} refused the token (401)`, {
        hint: "pass the token from serve.json with --token, or set FORAGER_TOKEN",
      });
    }
    if (response.status === 400) throw new UsageError(errorText(body));
    throw new ConnectionError(`${url} answered ${response.status}: ${errorText(body)}`);
  }
  options.onOpen?.();

  const parser = new SseParser();
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      touch();
      for (const data of parser.push(decoder.decode(chunk, { stream: true }))) {
        let event: ForagerEvent;
        try {
          event = JSON.parse(data) as ForagerEvent;
        } catch {
          continue; // a malformed message is skipped, not fatal
        }
        onEvent(event);
      }
    }
    return { reason: "the server closed the stream" };
  } catch (err) {
    if (options.signal.aborted) return { reason: "stopped" };
    if (idle.signal.aborted) return { reason: `no data or heartbeat for ${Math.round(idleMs / 1000)}s` };
    return { reason: `the connection broke (${networkCode(err)})` };
  } finally {
    clearTimeout(idleTimer);
  }
}

function networkCode(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
  return cause?.code ?? cause?.errors?.find((e) => e.code)?.code ?? cause?.message ?? (err as Error).message;
}
