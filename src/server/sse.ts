/**
 * `GET /events`: the event bus as Server-Sent Events. A subscriber that
 * stops reading is not followed for ever: once `res.write` says the socket
 * is full, events wait in a small queue until 'drain', and a subscriber
 * whose unsent bytes pass a bound is dropped (and logged), so memory per
 * subscriber stays bounded whatever the event rate.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { EventType, ForagerEvent } from "../events/types.js";
import type { Logger } from "../logging/index.js";
import { silentLogger } from "../logging/index.js";
import type { RuntimeHandle } from "../runtime/types.js";

const HEARTBEAT_MS = 15_000;
/** Unsent bytes (node's buffer plus our queue) at which a subscriber is dropped. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

export interface EventStreamOptions {
  types?: readonly EventType[];
  heartbeatMs?: number;
  /** Default MAX_BUFFERED_BYTES. */
  maxBufferedBytes?: number;
}

/** A set of open event streams, so shutdown can end them all. */
export class EventStreams {
  private readonly open = new Set<() => void>();
  /** Subscribers dropped for not reading. */
  dropped = 0;

  constructor(private readonly logger: Logger = silentLogger()) {}

  /** Streams events to `res` until the client goes away, falls too far behind, or `closeAll` runs. */
  serve(req: IncomingMessage, res: ServerResponse, runtime: Pick<RuntimeHandle, "subscribe">, options: EventStreamOptions): void {
    const limit = options.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    let closed = false;
    // Waiting for 'drain': chunks are queued here instead of in node's buffer.
    let blocked = !res.write(": connected\n\n");
    const queue: string[] = [];
    let queuedBytes = 0;
    const write = (chunk: string) => {
      if (closed) return;
      if (!blocked) {
        blocked = !res.write(chunk);
        return;
      }
      queue.push(chunk);
      queuedBytes += Buffer.byteLength(chunk);
      if (queuedBytes + res.writableLength > limit) {
        this.dropped++;
        this.logger.warn(
          { buffered_bytes: queuedBytes + res.writableLength, limit, remote: req.socket.remoteAddress },
          "event stream subscriber dropped: it is not reading",
        );
        close();
        res.destroy();
      }
    };
    const onDrain = () => {
      blocked = false;
      while (queue.length > 0 && !blocked) {
        const chunk = queue.shift()!;
        queuedBytes -= Buffer.byteLength(chunk);
        blocked = !res.write(chunk);
      }
    };
    res.on("drain", onDrain);
    const send = (event: ForagerEvent) => write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    // Cluster: an observer on any process sees the whole runtime's events.
    const unsubscribe = runtime.subscribe(send, options.types && options.types.length > 0 ? { types: options.types } : undefined, { scope: "cluster" });
    const heartbeat = setInterval(() => write(": heartbeat\n\n"), options.heartbeatMs ?? HEARTBEAT_MS);
    heartbeat.unref();
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
      queue.length = 0;
      queuedBytes = 0;
      this.open.delete(close);
      req.off("close", close);
      res.off("close", close);
      res.off("drain", onDrain);
      if (!res.writableEnded) res.end();
    };
    this.open.add(close);
    req.on("close", close);
    res.on("close", close);
  }

  get size(): number {
    return this.open.size;
  }

  closeAll(): void {
    for (const close of [...this.open]) close();
  }
}
