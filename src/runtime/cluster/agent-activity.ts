/**
 * When this node's executions of each agent last did something: what a
 * timer's `idle_timeout_seconds` asks (SPEC 4.1). Per node, as the
 * in-process Dispatcher keeps it; the cluster-wide view is the stats' job.
 */
import type { Clock } from "../../util/clock.js";

export class AgentActivity {
  private readonly byAgent = new Map<string, { running: number; lastActivityMs: number }>();

  constructor(private readonly clock: Clock) {}

  private of(agent: string): { running: number; lastActivityMs: number } {
    let a = this.byAgent.get(agent);
    if (!a) {
      a = { running: 0, lastActivityMs: 0 };
      this.byAgent.set(agent, a);
    }
    return a;
  }

  started(agent: string): void {
    const a = this.of(agent);
    a.running++;
    a.lastActivityMs = this.clock.now();
  }

  ended(agent: string): void {
    const a = this.of(agent);
    a.running--;
    a.lastActivityMs = this.clock.now();
  }

  /** An event of the agent's execution was seen: it is active. */
  touch(agent: string): void {
    const a = this.byAgent.get(agent);
    if (a && a.running > 0) a.lastActivityMs = this.clock.now();
  }

  /** Seconds since the agent's running executions last did something; null when none runs. */
  idleSeconds(agent: string): number | null {
    const a = this.byAgent.get(agent);
    if (!a || a.running === 0) return null;
    return Math.max(0, (this.clock.now() - a.lastActivityMs) / 1000);
  }
}
