/**
 * Concurrency seams. `SlotLimiter` is the runtime-wide cap
 * (`max_concurrent_executions`) shared by every stream of every agent;
 * the per-agent `Mutex` serialises synchronized entry points; the backend
 * hands both out (backend.ts). Both are in-process only. A shared
 * implementation cannot stand behind these interfaces as they are:
 * `release()` names no holder (a lease that lapsed cannot be told apart
 * from its successor's) and a grant carries no fence number a state write
 * could be checked against. Those two additions come first.
 */
import { Fifo } from "./fifo.js";

export type Grant = () => void;

/** A counting semaphore with FIFO waiters and callback grants (no promise per waiter). */
export interface SlotLimiter {
  readonly max: number;
  readonly active: number;
  readonly waiting: number;
  /**
   * Calls `grant` once a slot is free: synchronously when one is free now,
   * else in FIFO order across all callers. Returns a function that
   * withdraws a request that has not been granted yet (true when withdrawn).
   */
  request(grant: Grant): () => boolean;
  release(): void;
}

interface Waiter {
  grant: Grant;
  withdrawn: boolean;
}

export class InProcessLimiter implements SlotLimiter {
  private current = 0;
  private live = 0;
  private readonly waiters = new Fifo<Waiter>();

  constructor(readonly max: number) {}

  get active(): number {
    return this.current;
  }

  get waiting(): number {
    return this.live;
  }

  request(grant: Grant): () => boolean {
    if (this.current < this.max && this.live === 0) {
      this.current++;
      grant();
      return () => false;
    }
    const waiter: Waiter = { grant, withdrawn: false };
    this.waiters.push(waiter);
    this.live++;
    return () => {
      if (waiter.withdrawn) return false;
      waiter.withdrawn = true;
      this.live--;
      return true;
    };
  }

  release(): void {
    this.current--;
    while (this.current < this.max) {
      const next = this.waiters.shift();
      if (!next) return;
      if (next.withdrawn) continue;
      next.withdrawn = true;
      this.live--;
      this.current++;
      next.grant();
    }
  }
}

/** One holder at a time, FIFO: a limiter of one. */
export class Mutex extends InProcessLimiter {
  constructor() {
    super(1);
  }
}

/** The per-agent mutexes of synchronized isolation (SPEC 4.3): one per agent name, made on first use. */
export interface MutexSource {
  forAgent(agentName: string): Mutex;
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
