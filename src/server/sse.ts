/** `GET /events`: the event bus as Server-Sent Events. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { EventType, ForagerEvent } from "../events/types.js";
import type { RuntimeHandle } from "../runtime/types.js";

const HEARTBEAT_MS = 15_000;

export interface EventStreamOptions {
  types?: readonly EventType[];
  heartbeatMs?: number;
}

/** A set of open event streams, so shutdown can end them all. */
export class EventStreams {
  private readonly open = new Set<() => void>();

  /** Streams events to `res` until the client goes away or `closeAll` runs. */
  serve(req: IncomingMessage, res: ServerResponse, runtime: Pick<RuntimeHandle, "subscribe">, options: EventStreamOptions): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write(": connected\n\n");
    const send = (event: ForagerEvent) => {
      res.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    const unsubscribe = runtime.subscribe(send, options.types && options.types.length > 0 ? { types: options.types } : undefined);
    const heartbeat = setInterval(() => res.write(": heartbeat\n\n"), options.heartbeatMs ?? HEARTBEAT_MS);
    heartbeat.unref();
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
      this.open.delete(close);
      req.off("close", close);
      res.off("close", close);
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
