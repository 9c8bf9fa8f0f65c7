/**
 * The state store a synchronized execution sees on a cluster node: every
 * write of its agent's state carries the fence of its Redis mutex grant
 * (`<prefix>:mutex:<agent>:fence`, redis-semaphore.ts). A state store that
 * checks the fence in the same atomic step as the write (the Redis state
 * store) is given it; any other store is checked just before
 * the write, which still refuses a holder whose lease lapsed long ago but
 * leaves a window of one round trip.
 */
import type { RedisLink } from "../../storage/redis/connection.js";
import { StaleFenceError } from "../../storage/fenced-state.js";
import type { StateStore } from "../../storage/types.js";

/**
 * A state store that checks a write's `fence` against the agent's
 * `<prefix>:mutex:<agent>:fence` itself, atomically (storage/redis/state.ts:
 * it names that key with `fenceKey`).
 */
interface FencedWrites {
  fenceKey(agent: string): string;
  write(agent: string, changes: Record<string, unknown>, options: { fence: number }): Promise<Record<string, unknown>>;
}

function canFence(store: StateStore): store is StateStore & FencedWrites {
  return typeof (store as Partial<FencedWrites>).fenceKey === "function";
}

export class RedisFencedState implements StateStore {
  constructor(
    private readonly inner: StateStore,
    private readonly link: RedisLink,
    private readonly agent: string,
    readonly fence: number,
  ) {}

  read(agent: string): Promise<Record<string, unknown>> {
    return this.inner.read(agent);
  }

  async write(agent: string, changes: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (agent !== this.agent) return this.inner.write(agent, changes);
    const key = this.link.key("mutex", agent, "fence");
    if (canFence(this.inner)) return this.inner.write(agent, changes, { fence: this.fence });
    const current = Number((await (await this.link.commands()).get(key)) ?? 0);
    if (this.fence < current) throw new StaleFenceError(agent, this.fence, current);
    return this.inner.write(agent, changes);
  }
}
