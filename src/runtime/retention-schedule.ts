/**
 * Applies `session_retention` so it holds at all times (SPEC 4.4), not only
 * between passes: the runtime reports each finished execution, and once an
 * agent has finished `slack` executions since its last pass (a few percent
 * of `max_sessions`) a prune of that agent runs in the background. Disk
 * therefore stays at about `max_sessions` (plus the slack and what runs)
 * whatever the rate, and the cost of a pass is spread over many executions.
 * `max_age` is applied the same way at most every tenth of the age, and a
 * timer covers idle periods. Old days of the ingest log go with `max_age`.
 */
import type { RuntimeConfig } from "../config/schema.js";
import type { Logger } from "../logging/index.js";
import type { IngestLog } from "../storage/ingest-log.js";
import { applyRetention } from "../storage/retention.js";
import type { SessionStore } from "../storage/types.js";
import type { Clock, ClockTimer } from "../util/clock.js";

const MAX_INTERVAL_MS = 10 * 60_000;
const MIN_INTERVAL_MS = 1_000;

export interface RetentionOptions {
  store: SessionStore;
  /** Old days of it go with `max_age`. */
  ingestLog: IngestLog;
  policy: RuntimeConfig["session_retention"];
  clock: Clock;
  logger: Logger;
  /** Checked before each periodic pass. */
  isRunning(): boolean;
}

/** Sessions an agent may finish past `max_sessions` before a prune: 5 %, at least 5, at most 100. */
export function retentionSlack(maxSessions: number): number {
  return Math.min(100, Math.max(5, Math.ceil(maxSessions / 20)));
}

export class RetentionSchedule {
  private timer?: ClockTimer;
  /** Executions finished per agent since that agent's last pass. */
  private readonly finished = new Map<string, number>();
  /** Agents due for a prune by count; "*" = a full pass (max_age, the ingest log). */
  private readonly due = new Set<string>();
  private running: Promise<void> | null = null;
  private lastFullPassMs = -Infinity;

  constructor(private readonly options: RetentionOptions) {}

  /** How often `max_age` is applied: a tenth of the age, between 1 s and 10 min. */
  private get ageIntervalMs(): number {
    const maxAge = this.options.policy?.max_age;
    if (maxAge === undefined) return MAX_INTERVAL_MS;
    return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, (maxAge * 1000) / 10));
  }

  /**
   * An execution of `agent` finished (its record is saved). Cheap: counts,
   * and starts a background pass when one is due.
   */
  noteFinished(agent: string): void {
    const policy = this.options.policy;
    if (!policy) return;
    const count = (this.finished.get(agent) ?? 0) + 1;
    this.finished.set(agent, count);
    if (policy.max_sessions !== undefined && count >= retentionSlack(policy.max_sessions)) this.due.add(agent);
    if (policy.max_age !== undefined && this.options.clock.now() - this.lastFullPassMs >= this.ageIntervalMs) this.due.add("*");
    if (this.due.size > 0 && !this.running) this.running = this.drain();
  }

  /** Resolves when no pass is running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** One full pass now (every agent, the ingest log); failures are logged, never thrown. */
  async runNow(): Promise<void> {
    this.due.add("*");
    if (!this.running) this.running = this.drain();
    await this.idle();
  }

  /** Runs due passes one after another until none is due. */
  private async drain(): Promise<void> {
    try {
      while (this.due.size > 0) {
        const full = this.due.has("*");
        const agents = full ? [] : [...this.due];
        this.due.clear();
        if (full) {
          this.finished.clear();
          this.lastFullPassMs = this.options.clock.now();
          await this.pass(undefined);
        } else {
          for (const agent of agents) {
            this.finished.delete(agent);
            await this.pass(agent);
          }
        }
      }
    } finally {
      this.running = null;
    }
  }

  private async pass(agent: string | undefined): Promise<void> {
    const { store, policy, ingestLog, clock, logger } = this.options;
    try {
      await applyRetention(store, policy, { agent });
      if (agent === undefined && policy?.max_age !== undefined) await ingestLog.prune(policy.max_age, clock.now());
    } catch (err) {
      logger.warn({ err, agent }, "session retention failed");
    }
  }

  /** Arms the timer that applies retention while nothing finishes. */
  arm(): void {
    if (!this.options.policy) return;
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.options.isRunning()) return;
      void this.runNow().then(() => {
        if (this.options.isRunning()) this.arm();
      });
    }, this.ageIntervalMs);
    this.timer.unref?.();
  }

  disarm(): void {
    if (this.timer) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
