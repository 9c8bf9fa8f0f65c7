/**
 * The in-process event bus. Publishing is cheap and never waits for
 * subscribers: each subscriber has its own queue, drained on a later turn of
 * the event loop, so a slow or failing subscriber cannot slow the publisher
 * (a webhook's 202, a node step) or the other subscribers.
 *
 * In a cluster a feed is attached (runtime/cluster/feed.ts): every event
 * published here is appended to it, and `cluster`-scope subscribers also
 * receive the other nodes' events from it. Those are delivered only: not
 * counted, kept in history or seen by `local` subscribers (event intake).
 */
import type { Logger } from "../logging/index.js";
import { systemClock, type Clock } from "../util/clock.js";
import { newEventId } from "../util/ids.js";
import type {
  EventFilter,
  EventHandler,
  EventInit,
  EventPublisher,
  EventSubscriber,
  SubscribeOptions,
  EventType,
  ForagerEvent,
} from "./types.js";

/** Options of `new EventBus()`. */
export interface EventBusOptions {
  /** How many recent events `history()` keeps; default 10 000. */
  historySize?: number;
  /** Only `warn` is used (failing subscribers). */
  logger?: Pick<Logger, "warn">;
  /** Time source of event timestamps; default the system clock. */
  clock?: Clock;
}

/** Where a cluster's nodes share their events (runtime/cluster/feed.ts). */
export interface EventFeed {
  /** This bus's event, for the other nodes. */
  append(event: ForagerEvent): void;
  /** The other nodes' events; returns the function that stops them. */
  subscribe(handler: (event: ForagerEvent) => void): () => void;
}

/** The bus's counters (`EventBus.stats()`), since it was made. */
export interface EventBusStats {
  /** Events published. */
  total_events: number;
  /** Subscribers listening now. */
  subscriptions: number;
  /** Events published, by type. */
  events_by_type: Record<string, number>;
  /** Events pushed out of the bounded history by newer ones. */
  dropped_from_history: number;
  /** Subscriber calls that threw or rejected. */
  subscriber_errors: number;
  /** Deliveries waiting in subscriber queues right now. */
  queued_deliveries: number;
}

interface Subscription {
  handler: EventHandler;
  matches: (event: ForagerEvent) => boolean;
  queue: ForagerEvent[];
  /** Index of the next event to deliver; the queue is compacted when drained. */
  next: number;
  scheduled: boolean;
  active: boolean;
  /** Stops the other nodes' events (a cluster-scope subscription). */
  leaveFeed?: () => void;
}

const NO_LOGGER: Pick<Logger, "warn"> = { warn: () => undefined } as unknown as Pick<Logger, "warn">;

/** Builds a predicate for a filter; undefined fields match anything. */
export function eventMatcher(filter?: EventFilter): (event: ForagerEvent) => boolean {
  if (!filter) return () => true;
  const types = filter.types && filter.types.length > 0 ? new Set<EventType>(filter.types) : undefined;
  const { graph_id, stream_id, execution_id } = filter;
  return (event) =>
    (types === undefined || types.has(event.type)) &&
    (graph_id === undefined || event.graph_id === graph_id) &&
    (stream_id === undefined || event.stream_id === stream_id) &&
    (execution_id === undefined || event.execution_id === execution_id);
}

/** An event with every field of SPEC 4.2: id and timestamp made when missing, absent ids null. */
export function completeEvent(init: EventInit, nowMs: number): ForagerEvent {
  return {
    id: init.id ?? newEventId(nowMs),
    type: init.type,
    timestamp: init.timestamp ?? new Date(nowMs).toISOString(),
    graph_id: init.graph_id ?? null,
    stream_id: init.stream_id ?? null,
    execution_id: init.execution_id ?? null,
    session_id: init.session_id ?? null,
    node_id: init.node_id ?? null,
    correlation_id: init.correlation_id ?? null,
    data: init.data ?? {},
  };
}

/** The in-process event bus described above: publish, subscribe with a filter, and a bounded history of recent events. */
export class EventBus implements EventPublisher, EventSubscriber {
  private readonly historySize: number;
  private readonly logger: Pick<Logger, "warn">;
  private readonly clock: Clock;
  private readonly subscriptions = new Set<Subscription>();
  // Ring buffer: `ring[(start + i) % size]` for i < count, oldest first.
  private readonly ring: (ForagerEvent | undefined)[];
  private start = 0;
  private count = 0;
  private total = 0;
  private readonly byType: Record<string, number> = {};
  private dropped = 0;
  private subscriberErrors = 0;
  private queued = 0;
  /** Queue drains in flight, so `drain()` can wait for them. */
  private readonly running = new Set<Promise<void>>();
  private feed: EventFeed | undefined;

  constructor(options: EventBusOptions = {}) {
    this.historySize = Math.max(0, Math.floor(options.historySize ?? 10_000));
    this.logger = options.logger ?? NO_LOGGER;
    this.clock = options.clock ?? systemClock;
    this.ring = new Array(this.historySize);
  }

  /**
   * Shares this bus's events with a cluster: each one published from now on
   * is appended to `feed`, and cluster-scope subscriptions made from now on
   * also receive the other nodes' events.
   */
  attachFeed(feed: EventFeed): void {
    this.feed = feed;
  }

  /** Fills id, timestamp and missing fields, records the event and queues it for subscribers. */
  publish(init: EventInit): ForagerEvent {
    const event = completeEvent(init, this.clock.now());
    this.total++;
    this.byType[event.type] = (this.byType[event.type] ?? 0) + 1;
    this.remember(event);
    for (const sub of this.subscriptions) this.enqueue(sub, event);
    this.feed?.append(event);
    return event;
  }

  private enqueue(sub: Subscription, event: ForagerEvent): void {
    if (!sub.active || !sub.matches(event)) return;
    sub.queue.push(event);
    this.queued++;
    if (!sub.scheduled) this.schedule(sub);
  }

  /**
   * Adds a handler; events reach it in publish order. Returns the
   * unsubscribe function. Without a feed both scopes (SubscriptionScope)
   * see this process's events; with one, `cluster` subscribers also get the
   * other nodes' events (never used for trigger matching).
   */
  subscribe(handler: EventHandler, filter?: EventFilter, options?: SubscribeOptions): () => void {
    const sub: Subscription = {
      handler,
      matches: eventMatcher(filter),
      queue: [],
      next: 0,
      scheduled: false,
      active: true,
    };
    this.subscriptions.add(sub);
    if (options?.scope === "cluster" && this.feed) sub.leaveFeed = this.feed.subscribe((event) => this.enqueue(sub, event));
    return () => {
      if (!sub.active) return;
      sub.active = false;
      sub.leaveFeed?.();
      this.subscriptions.delete(sub);
      // Events not yet delivered are discarded: the subscriber asked to stop.
      this.queued -= sub.queue.length - sub.next;
      sub.queue = [];
      sub.next = 0;
    };
  }

  /** Recent events, oldest first: the last `limit` that match `filter`. */
  history(filter?: EventFilter, limit?: number): ForagerEvent[] {
    const matches = eventMatcher(filter);
    const max = limit === undefined ? Infinity : Math.max(0, limit);
    const out: ForagerEvent[] = [];
    for (let i = this.count - 1; i >= 0 && out.length < max; i--) {
      const event = this.ring[(this.start + i) % this.historySize]!;
      if (matches(event)) out.push(event);
    }
    return out.reverse();
  }

  /** The counters now; cheap, whatever the history. */
  stats(): EventBusStats {
    return {
      total_events: this.total,
      subscriptions: this.subscriptions.size,
      events_by_type: { ...this.byType },
      dropped_from_history: this.dropped,
      subscriber_errors: this.subscriberErrors,
      queued_deliveries: this.queued,
    };
  }

  /** Resolves once every queued delivery has run (including ones queued meanwhile). */
  async drain(): Promise<void> {
    while (this.running.size > 0) {
      await Promise.all([...this.running]);
    }
  }

  private remember(event: ForagerEvent): void {
    if (this.historySize === 0) {
      this.dropped++;
      return;
    }
    if (this.count < this.historySize) {
      this.ring[(this.start + this.count) % this.historySize] = event;
      this.count++;
    } else {
      this.ring[this.start] = event;
      this.start = (this.start + 1) % this.historySize;
      this.dropped++;
    }
  }

  private schedule(sub: Subscription): void {
    sub.scheduled = true;
    const done = new Promise<void>((resolve) => {
      setImmediate(() => {
        this.deliver(sub).then(resolve, resolve);
      });
    });
    this.running.add(done);
    void done.then(() => this.running.delete(done));
  }

  private async deliver(sub: Subscription): Promise<void> {
    try {
      while (sub.active && sub.next < sub.queue.length) {
        const event = sub.queue[sub.next]!;
        sub.queue[sub.next] = undefined as unknown as ForagerEvent;
        sub.next++;
        this.queued--;
        try {
          const result = sub.handler(event);
          if (result && typeof (result as Promise<void>).then === "function") await result;
        } catch (err) {
          this.subscriberErrors++;
          this.logger.warn({ event: event.type, event_id: event.id, err }, "an event subscriber failed");
        }
      }
    } finally {
      sub.queue = sub.queue.slice(sub.next);
      sub.next = 0;
      sub.scheduled = false;
      // Events published while the last handler was finishing still need a turn.
      if (sub.active && sub.queue.length > 0) this.schedule(sub);
    }
  }
}
