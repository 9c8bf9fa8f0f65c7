/**
 * The cluster's SlotLimiter and agent mutexes (DISTRIBUTED §4.2): a fair
 * semaphore in Redis. Leases are a ZSET (member = holder id, score = lease
 * deadline), waiters a ZSET of tickets (FIFO) plus their ask-again
 * deadlines; all in Lua with Redis `TIME` (lua.ts). A holder renews its
 * lease every third of it; a lease that could not be renewed in time is
 * lost, and `onLost` is told (the queue aborts the execution: lock_lost).
 * Releasing publishes `<prefix>:slots:free` with the semaphore's key, and
 * waiters ask again on that message or every 500 ms.
 *
 * Every mutex grant increments `<prefix>:mutex:<agent>:fence`; that fence
 * travels with the execution's state writes, and the Redis state store
 * refuses a write whose fence is older (storage/fenced-state.ts).
 *
 * `active` and `waiting` count this node's holders and waiters only; the
 * cluster's are in Redis (`ZCARD <prefix>:slots`).
 */
import type { Logger } from "../../logging/index.js";
import type { RedisLink } from "../../storage/redis/connection.js";
import { ForagerError } from "../../errors.js";
import type { AgentMutex, Grant, MutexSource } from "../limiter.js";
import type { ClusterChannels } from "./channels.js";
import { ACQUIRE, RELEASE, RENEW, runScript } from "./lua.js";

/** How often a waiter asks again without a slots:free message. */
const RETRY_MS = 500;
/** A waiter that has not asked for this long is dropped from the line (its node is gone). */
const WAITER_TTL_MS = 5_000;

export interface SemaphoreDeps {
  link: RedisLink;
  channels: ClusterChannels;
  logger: Logger;
  /** Lease length (runtime.worker_loss.lock_seconds). */
  leaseMs: number;
}

interface Waiter {
  holderId: string;
  grant: Grant;
  withdrawn: boolean;
  asking: boolean;
}

interface Holder {
  fence: number;
  renewer: ReturnType<typeof setInterval>;
  /** When Redis last confirmed the lease (this node's clock, only to bound how long renewals may fail). */
  confirmedMs: number;
}

export class RedisSemaphore implements AgentMutex {
  private readonly holders = new Map<string, Holder>();
  private readonly waiters = new Map<string, Waiter>();
  private retryTimer?: ReturnType<typeof setInterval>;
  private readonly keys: string[];
  private lastFence = 0;
  private closed = false;
  /** Called when a holder's lease lapsed or could not be renewed: it no longer holds. */
  onLost?: (holderId: string) => void;

  /** @param base the semaphore's key (`<prefix>:slots`, `<prefix>:mutex:<agent>`) */
  constructor(
    private readonly deps: SemaphoreDeps,
    readonly base: string,
    readonly max: number,
  ) {
    this.keys = [base, `${base}:wait`, `${base}:seen`, `${base}:ticket`, `${base}:fence`];
  }

  get active(): number {
    return this.holders.size;
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /** The fence of this node's latest grant. */
  get fence(): number {
    return this.lastFence;
  }

  /** The fence key: its value is the fence of the latest grant anywhere in the cluster. */
  get fenceKey(): string {
    return this.keys[4]!;
  }

  request(holderId: string, grant: Grant): () => boolean {
    if (this.holders.has(holderId) || this.waiters.has(holderId)) {
      throw new ForagerError("duplicate_holder", `"${holderId}" already holds or waits for this slot; release or withdraw it first`);
    }
    const waiter: Waiter = { holderId, grant, withdrawn: false, asking: false };
    this.waiters.set(holderId, waiter);
    this.armRetry();
    void this.ask(waiter);
    return () => {
      if (waiter.withdrawn || !this.waiters.has(holderId)) return false;
      waiter.withdrawn = true;
      this.waiters.delete(holderId);
      void this.giveUp(holderId);
      return true;
    };
  }

  release(holderId: string): boolean {
    const holder = this.holders.get(holderId);
    if (!holder) return false;
    clearInterval(holder.renewer);
    this.holders.delete(holderId);
    void this.giveUp(holderId);
    return true;
  }

  /** A slots:free message for this semaphore, or the retry timer: every waiter asks again. */
  wake(): void {
    for (const waiter of this.waiters.values()) void this.ask(waiter);
  }

  /** Stops renewing and asking; leases lapse by themselves (close releases nothing it still holds). */
  close(): void {
    this.closed = true;
    for (const holder of this.holders.values()) clearInterval(holder.renewer);
    this.holders.clear();
    this.waiters.clear();
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = undefined;
  }

  private armRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setInterval(() => {
      if (this.waiters.size === 0) {
        clearInterval(this.retryTimer);
        this.retryTimer = undefined;
        return;
      }
      this.wake();
    }, RETRY_MS);
    this.retryTimer.unref?.();
  }

  private async ask(waiter: Waiter): Promise<void> {
    if (waiter.asking || waiter.withdrawn || this.closed) return;
    waiter.asking = true;
    let granted: number | undefined;
    try {
      const redis = await this.deps.link.commands();
      const [ok, fence] = (await runScript(redis, ACQUIRE, this.keys, [waiter.holderId, this.max, this.deps.leaseMs, WAITER_TTL_MS])) as [number, number];
      if (ok === 1) granted = Number(fence);
    } catch (err) {
      // Redis away: the retry timer asks again; the job holding the request keeps waiting.
      this.deps.logger.warn({ err, semaphore: this.base }, "could not ask Redis for a slot; retrying");
    } finally {
      waiter.asking = false;
    }
    if (granted === undefined) return;
    if (waiter.withdrawn || this.closed) {
      // Withdrawn while the grant was on its way: hand the slot straight back.
      void this.giveUp(waiter.holderId);
      return;
    }
    this.waiters.delete(waiter.holderId);
    this.lastFence = Math.max(this.lastFence, granted);
    const holder: Holder = {
      fence: granted,
      confirmedMs: Date.now(),
      renewer: setInterval(() => void this.renew(waiter.holderId), Math.max(100, Math.floor(this.deps.leaseMs / 3))),
    };
    holder.renewer.unref?.();
    this.holders.set(waiter.holderId, holder);
    waiter.grant(granted);
  }

  private async renew(holderId: string): Promise<void> {
    const holder = this.holders.get(holderId);
    if (!holder) return;
    let held: boolean | undefined;
    try {
      const redis = await this.deps.link.commands();
      held = (await runScript(redis, RENEW, [this.keys[0]!], [holderId, this.deps.leaseMs])) === 1;
    } catch (err) {
      this.deps.logger.warn({ err, semaphore: this.base, holder: holderId }, "could not renew a lease");
    }
    if (this.holders.get(holderId) !== holder) return;
    if (held === true) holder.confirmedMs = Date.now();
    // Lost when Redis says so, or when renewals failed for a whole lease: another node may hold it by now.
    if (held === false || Date.now() - holder.confirmedMs >= this.deps.leaseMs) {
      clearInterval(holder.renewer);
      this.holders.delete(holderId);
      this.deps.logger.warn({ semaphore: this.base, holder: holderId }, "lost a lease");
      this.onLost?.(holderId);
    }
  }

  private async giveUp(holderId: string): Promise<void> {
    try {
      const redis = await this.deps.link.commands();
      await runScript(redis, RELEASE, this.keys.slice(0, 3), [holderId, this.deps.channels.slotsFree, this.base]);
    } catch (err) {
      // The lease lapses by itself; waiters that stopped asking are dropped by the next acquire.
      this.deps.logger.warn({ err, semaphore: this.base, holder: holderId }, "could not release a lease; it will lapse");
    }
  }
}

/** One semaphore of one slot per agent (`<prefix>:mutex:<agent>`), made on first use. */
export class RedisMutexes implements MutexSource {
  private readonly byAgent = new Map<string, RedisSemaphore>();
  /** Called when any agent's mutex lease was lost. */
  onLost?: (holderId: string) => void;

  constructor(private readonly deps: SemaphoreDeps) {}

  forAgent(agentName: string): RedisSemaphore {
    let mutex = this.byAgent.get(agentName);
    if (!mutex) {
      mutex = new RedisSemaphore(this.deps, this.deps.link.key("mutex", agentName), 1);
      mutex.onLost = (holderId) => this.onLost?.(holderId);
      this.byAgent.set(agentName, mutex);
    }
    return mutex;
  }

  /** Every mutex made so far. */
  all(): IterableIterator<RedisSemaphore> {
    return this.byAgent.values();
  }

  close(): void {
    for (const mutex of this.byAgent.values()) mutex.close();
  }
}

/** Promise form of a request: resolves with the fence once granted; rejects (withdrawn) when `signal` aborts first. */
export function acquireSlot(limiter: { request(holderId: string, grant: Grant): () => boolean }, holderId: string, signal: AbortSignal): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      if (withdraw()) reject(signal.reason);
    };
    const withdraw = limiter.request(holderId, (fence) => {
      signal.removeEventListener("abort", onAbort);
      resolve(fence);
    });
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
