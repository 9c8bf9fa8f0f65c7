/**
 * Concurrency seams. `SlotLimiter` is the runtime-wide cap
 * (`max_concurrent_executions`) shared by every stream of every agent;
 * the per-agent `Mutex` serialises synchronized entry points; the backend
 * hands both out (backend.ts). The implementations here are in-process.
 *
 * Every request names its holder (the execution id) and `release` names it
 * again, so a release for a holder that no longer holds (a lease that
 * lapsed, a double release) is refused instead of freeing a stranger's
 * slot. Every grant carries a fence: a number that grows with each grant
 * of that limiter or mutex. A state write made under the agent mutex
 * carries its grant's fence (storage/fenced-state.ts), and a write whose
 * fence is older than the mutex's current one is refused: a holder that
 * lost the mutex cannot clobber its successor's read-modify-write. The
 * shared implementation (a fair semaphore and one fence counter per mutex
 * in Redis) is cluster/redis-semaphore.ts, behind the same interfaces.
 */
import { ForagerError } from "../errors.js";
import { Fifo } from "./fifo.js";

/** Called once the slot is the holder's; `fence` is larger than every fence this limiter granted before. */
export type Grant = (fence: number) => void;

/** A counting semaphore with FIFO waiters and callback grants (no promise per waiter). */
export interface SlotLimiter {
  readonly max: number;
  readonly active: number;
  readonly waiting: number;
  /**
   * Calls `grant` once a slot is free for `holderId`: synchronously when
   * one is free now, else in FIFO order across all callers. A holder id
   * asks once at a time. Returns a function that withdraws a request that
   * has not been granted yet (true when withdrawn).
   */
  request(holderId: string, grant: Grant): () => boolean;
  /**
   * Frees the slot `holderId` holds and grants it to the next waiter. False,
   * and nothing changes, when that holder holds no slot.
   */
  release(holderId: string): boolean;
}

interface Waiter {
  holderId: string;
  grant: Grant;
  withdrawn: boolean;
}

export class InProcessLimiter implements SlotLimiter {
  /** Holder id → the fence of its grant. */
  private readonly holders = new Map<string, number>();
  private readonly pending = new Set<string>();
  private readonly waiters = new Fifo<Waiter>();
  private lastFence = 0;

  constructor(readonly max: number) {}

  get active(): number {
    return this.holders.size;
  }

  get waiting(): number {
    return this.pending.size;
  }

  /** The fence of the latest grant (0 before the first): a write carrying an older one comes from a former holder. */
  get fence(): number {
    return this.lastFence;
  }

  /** The fence `holderId` was granted, while it holds a slot. */
  fenceOf(holderId: string): number | undefined {
    return this.holders.get(holderId);
  }

  request(holderId: string, grant: Grant): () => boolean {
    if (this.holders.has(holderId) || this.pending.has(holderId)) {
      throw new ForagerError("duplicate_holder", `"${holderId}" already holds or waits for this slot; release or withdraw it first`);
    }
    if (this.holders.size < this.max && this.pending.size === 0) {
      this.give(holderId, grant);
      return () => false;
    }
    const waiter: Waiter = { holderId, grant, withdrawn: false };
    this.waiters.push(waiter);
    this.pending.add(holderId);
    return () => {
      if (waiter.withdrawn) return false;
      waiter.withdrawn = true;
      this.pending.delete(holderId);
      return true;
    };
  }

  release(holderId: string): boolean {
    if (!this.holders.delete(holderId)) return false;
    while (this.holders.size < this.max) {
      const next = this.waiters.shift();
      if (!next) break;
      if (next.withdrawn) continue;
      next.withdrawn = true;
      this.pending.delete(next.holderId);
      this.give(next.holderId, next.grant);
    }
    return true;
  }

  private give(holderId: string, grant: Grant): void {
    const fence = ++this.lastFence;
    this.holders.set(holderId, fence);
    grant(fence);
  }
}

/** One holder at a time, FIFO: a limiter of one. */
export class Mutex extends InProcessLimiter {
  constructor() {
    super(1);
  }
}

/** An agent's mutex: a limiter of one whose `fence` is the latest grant's fence (what a fenced state write is checked against). */
export interface AgentMutex extends SlotLimiter {
  readonly fence: number;
}

/** The per-agent mutexes of synchronized isolation (SPEC 4.3): one per agent name, made on first use. */
export interface MutexSource {
  forAgent(agentName: string): AgentMutex;
}

/** In-process mutexes, one per agent, kept for the runtime's life (an agent name is a few bytes). */
export class InProcessMutexes implements MutexSource {
  private readonly byAgent = new Map<string, Mutex>();

  forAgent(agentName: string): Mutex {
    let mutex = this.byAgent.get(agentName);
    if (!mutex) {
      mutex = new Mutex();
      this.byAgent.set(agentName, mutex);
    }
    return mutex;
  }
}
