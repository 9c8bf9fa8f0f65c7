/**
 * The cluster event feed (DISTRIBUTED.md §4.6): every node appends the
 * events of its bus to the Redis stream `<prefix>:feed` (`XADD MAXLEN ~`,
 * batched: one pipeline per turn of the event loop), and observers that
 * subscribe with scope `cluster` (GET /events) also receive the other
 * nodes' entries, read with `XREAD BLOCK` on a connection of their own. A
 * stream, not pub/sub, so a reader that reconnects resumes where it was.
 * Trigger matching never reads the feed: each event is matched once, on
 * the node that published it.
 */
import type { Redis } from "ioredis";
import type { EventFeed } from "../../events/bus.js";
import type { ForagerEvent } from "../../events/types.js";
import type { Logger } from "../../logging/index.js";
import type { RedisLink } from "../../storage/redis/connection.js";

export interface FeedOptions {
  nodeId: string;
  logger: Logger;
  /** Entries the stream keeps, about (default 10 000). */
  maxLen?: number;
  /** Events buffered at most while Redis is slow or away; older ones are dropped (and counted). */
  maxBuffered?: number;
  /** Called before each batch is written, to add commands to its pipeline (counters). */
  onBatch?: (batch: ReturnType<Redis["pipeline"]>, events: readonly ForagerEvent[]) => void;
  /** How long one XREAD blocks (default 1 s): also how fast an idle reader notices it is closed. */
  blockMs?: number;
}

type Handler = (event: ForagerEvent) => void;

export class ClusterFeed implements EventFeed {
  private buffer: ForagerEvent[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  private readonly handlers = new Set<Handler>();
  private reader: Promise<void> | undefined;
  private readerClient: Redis | undefined;
  private closed = false;
  /** Events this node could not append (Redis away, buffer full). */
  dropped = 0;

  constructor(
    private readonly link: RedisLink,
    private readonly options: FeedOptions,
  ) {}

  private get key(): string {
    return this.link.key("feed");
  }

  /** Queues an event of this node's bus for the next batch. */
  append(event: ForagerEvent): void {
    if (this.closed) return;
    this.buffer.push(event);
    const max = this.options.maxBuffered ?? 10_000;
    if (this.buffer.length > max) {
      this.dropped += this.buffer.length - max;
      this.buffer.splice(0, this.buffer.length - max);
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
  }

  /** Writes what is buffered; resolves once it is written (or dropped after a failure). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.buffer.length > 0 ? this.flush() : undefined));
    if (this.buffer.length === 0) return Promise.resolve();
    const events = this.buffer;
    this.buffer = [];
    this.flushing = this.write(events).finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(events: ForagerEvent[]): Promise<void> {
    try {
      const redis = await this.link.commands();
      const batch = redis.pipeline();
      const maxLen = this.options.maxLen ?? 10_000;
      for (const event of events) batch.xadd(this.key, "MAXLEN", "~", maxLen, "*", "n", this.options.nodeId, "e", JSON.stringify(event));
      this.options.onBatch?.(batch, events);
      await batch.exec();
    } catch (err) {
      this.dropped += events.length;
      this.options.logger.warn({ err, events: events.length }, "could not append events to the cluster feed");
    }
  }

  /** Receives the other nodes' events from now on; returns the function that stops it. */
  subscribe(handler: Handler): () => void {
    if (this.closed) return () => undefined;
    this.handlers.add(handler);
    this.ensureReader();
    return () => {
      this.handlers.delete(handler);
      if (this.handlers.size === 0) this.stopReader();
    };
  }

  private ensureReader(): void {
    if (this.reader || this.closed || this.handlers.size === 0) return;
    // From this moment (a stream id is Redis time in ms): what is appended once subscribe returns is delivered.
    this.reader = this.read(`${Date.now()}-0`).finally(() => {
      this.reader = undefined;
      // Subscribed again while the last reader was stopping: read on.
      this.ensureReader();
    });
  }

  private async read(fromId: string): Promise<void> {
    let client: Redis;
    try {
      client = await this.link.dedicated("blocking", "feed-reader");
    } catch (err) {
      this.options.logger.warn({ err }, "cannot read the cluster feed: other nodes' events are not shown");
      return;
    }
    this.readerClient = client;
    try {
      let lastId = fromId;
      while (this.handlers.size > 0 && !this.closed) {
        let answer: [string, [string, string[]][]][] | null;
        try {
          answer = (await client.xread("COUNT", 500, "BLOCK", this.options.blockMs ?? 1_000, "STREAMS", this.key, lastId)) as typeof answer;
        } catch (err) {
          if (this.handlers.size === 0 || this.closed || client.status === "end") break;
          this.options.logger.warn({ err }, "reading the cluster feed failed; retrying");
          await new Promise((resolve) => setTimeout(resolve, 500));
          continue;
        }
        for (const [, entries] of answer ?? []) {
          for (const [id, fields] of entries) {
            lastId = id;
            this.deliver(fields);
          }
        }
      }
    } finally {
      if (this.readerClient === client) this.readerClient = undefined;
      client.disconnect();
    }
  }

  private deliver(fields: string[]): void {
    let node: string | undefined;
    let raw: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === "n") node = fields[i + 1];
      else if (fields[i] === "e") raw = fields[i + 1];
    }
    // This node's own events reach its subscribers from its bus.
    if (node === this.options.nodeId || raw === undefined) return;
    let event: ForagerEvent;
    try {
      event = JSON.parse(raw) as ForagerEvent;
    } catch {
      return;
    }
    for (const handler of [...this.handlers]) handler(event);
  }

  private stopReader(): void {
    // XREAD BLOCK cannot be interrupted; dropping its connection ends the read at once.
    this.readerClient?.disconnect();
  }

  /** Writes what is buffered and stops reading. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.handlers.clear();
    this.stopReader();
    await this.reader;
  }
}
