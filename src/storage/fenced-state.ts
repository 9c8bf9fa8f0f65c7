/**
 * The state store one synchronized execution sees: every write of its
 * agent's state carries the fence of the agent-mutex grant the execution
 * runs under (runtime/limiter.ts), and a write whose fence is older than
 * the mutex's current one is refused. A holder that lost the mutex (a
 * lapsed lease, a write still in flight after it finished) cannot then
 * clobber the read-modify-write of the holder after it. In-process the
 * current fence is read from the mutex; a shared store checks the fence in
 * the same atomic step as the write (DISTRIBUTED.md 4.2).
 */
import { ForagerError } from "../errors.js";
import type { StateStore } from "./types.js";

/** A state write refused because a later holder of the agent's mutex exists. */
export class StaleFenceError extends ForagerError {
  constructor(agent: string, fence: number, current: number) {
    super("stale_fence", `state write for agent "${agent}" refused: it carries fence ${fence}, but the agent's mutex has since been granted with fence ${current}`);
    this.name = "StaleFenceError";
  }
}

export class FencedStateStore implements StateStore {
  /**
   * @param agent the agent whose mutex was granted; other agents' state is passed through unchecked
   * @param fence the fence of that grant
   * @param currentFence the mutex's fence now
   */
  constructor(
    private readonly inner: StateStore,
    private readonly agent: string,
    readonly fence: number,
    private readonly currentFence: () => number,
  ) {}

  read(agent: string): Promise<Record<string, unknown>> {
    return this.inner.read(agent);
  }

  async write(agent: string, changes: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (agent !== this.agent) return this.inner.write(agent, changes);
    const current = this.currentFence();
    if (this.fence < current) throw new StaleFenceError(agent, this.fence, current);
    // A shared store checks again, atomically with the write, against the
    // mutex's fence in Redis: another node may have been granted it since.
    return this.inner.write(agent, changes, { fence: this.fence });
  }
}
