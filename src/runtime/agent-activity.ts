/**
 * When this process's executions of each agent last did something: what a
 * timer's `idle_timeout_seconds` asks (SPEC 4.1). The in-process Dispatcher
 * keeps it for its executions; in a cluster it is this node's part of the
 * cluster-wide view (cluster/cluster-activity.ts).
 */
import type { Clock } from "../util/clock.js";

export interface AgentActivitySnapshot {
  /** Executions of the agent running here. */
  running: number;
  /** When one of them last started, ended or produced an event (clock ms; 0 when never). */
  lastActivityMs: number;
}

export class AgentActivity {
  private readonly byAgent = new Map<string, AgentActivitySnapshot>();

  constructor(private readonly clock: Clock) {}

  private of(agent: string): AgentActivitySnapshot {
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

  /** An event of the agent's execution was seen: it is active. True when that counted (one of its executions runs here). */
  touch(agent: string): boolean {
    const a = this.byAgent.get(agent);
    if (!a || a.running <= 0) return false;
    a.lastActivityMs = this.clock.now();
    return true;
  }

  /** The agent's running count and last activity here now. */
  snapshot(agent: string): AgentActivitySnapshot {
    const a = this.byAgent.get(agent);
    return a ? { ...a } : { running: 0, lastActivityMs: 0 };
  }

  /** Seconds since the agent's running executions last did something; null when none runs. */
  idleSeconds(agent: string): number | null {
    const a = this.byAgent.get(agent);
    if (!a || a.running === 0) return null;
    return Math.max(0, (this.clock.now() - a.lastActivityMs) / 1000);
  }
}
