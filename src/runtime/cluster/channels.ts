/**
 * The cluster's pub/sub channels: `<prefix>:cancel`
 * (`{id, reason}`: the node running the execution aborts it),
 * `<prefix>:done` (an execution id whose final record is saved) and
 * `<prefix>:slots:free` (a semaphore key: a lease was released). One
 * subscriber connection per node carries all three; ioredis subscribes
 * again by itself after a reconnect. Messages can be lost (a reconnect), so
 * every user also polls: cancel keys at lease renewal, records every second,
 * semaphores every 500 ms.
 */
import type { Redis } from "ioredis";
import type { Logger } from "../../logging/index.js";
import type { RedisLink } from "../../storage/redis/connection.js";

type Listener<A extends unknown[]> = (...args: A) => void;

export class ClusterChannels {
  readonly cancel: string;
  readonly done: string;
  readonly slotsFree: string;
  private subscriber?: Redis;
  private opening?: Promise<void>;
  private readonly cancelListeners = new Set<Listener<[string, string]>>();
  private readonly doneListeners = new Set<Listener<[string]>>();
  private readonly freeListeners = new Set<Listener<[string]>>();

  constructor(
    private readonly link: RedisLink,
    private readonly logger: Logger,
  ) {
    this.cancel = link.key("cancel");
    this.done = link.key("done");
    this.slotsFree = link.key("slots", "free");
  }

  /** Subscribes this node (once); resolves when the subscription is in place. */
  open(): Promise<void> {
    this.opening ??= (async () => {
      const client = await this.link.dedicated("blocking", "subscriber");
      client.on("message", (channel: string, message: string) => this.dispatch(channel, message));
      await client.subscribe(this.cancel, this.done, this.slotsFree);
      this.subscriber = client;
    })();
    return this.opening;
  }

  private dispatch(channel: string, message: string): void {
    try {
      if (channel === this.done) for (const fn of this.doneListeners) fn(message);
      else if (channel === this.slotsFree) for (const fn of this.freeListeners) fn(message);
      else if (channel === this.cancel) {
        const { id, reason } = JSON.parse(message) as { id: string; reason: string };
        for (const fn of this.cancelListeners) fn(id, reason);
      }
    } catch (err) {
      this.logger.error({ err, channel }, "could not handle a cluster message");
    }
  }

  onCancel(fn: Listener<[string, string]>): () => void {
    this.cancelListeners.add(fn);
    return () => this.cancelListeners.delete(fn);
  }

  onDone(fn: Listener<[string]>): () => void {
    this.doneListeners.add(fn);
    return () => this.doneListeners.delete(fn);
  }

  onSlotsFree(fn: Listener<[string]>): () => void {
    this.freeListeners.add(fn);
    return () => this.freeListeners.delete(fn);
  }

  /** Tells every node that the execution's final record is saved. */
  async publishDone(executionId: string): Promise<void> {
    await (await this.link.commands()).publish(this.done, executionId);
  }

  /** Asks the node running the execution to abort it; the key backs the message up for `ttlSeconds`. */
  async publishCancel(executionId: string, reason: string, ttlSeconds = 3600): Promise<void> {
    const redis = await this.link.commands();
    await redis.multi().set(this.link.key("cancel", executionId), reason, "EX", ttlSeconds).publish(this.cancel, JSON.stringify({ id: executionId, reason })).exec();
  }

  async close(): Promise<void> {
    this.cancelListeners.clear();
    this.doneListeners.clear();
    this.freeListeners.clear();
    await this.opening?.catch(() => undefined);
    const client = this.subscriber;
    this.subscriber = undefined;
    if (client) await client.quit().catch(() => client.disconnect());
  }
}
