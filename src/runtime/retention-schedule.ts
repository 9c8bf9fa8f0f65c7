/**
 * Applies `session_retention` at start and every few minutes while the
 * runtime runs: old sessions and old days of the ingest log are removed,
 * so disk and the session index stay bounded.
 */
import type { RuntimeConfig } from "../config/schema.js";
import type { Logger } from "../logging/index.js";
import { pruneIngestLogs } from "../storage/ingest-log.js";
import { applyRetention } from "../storage/retention.js";
import type { SessionStore } from "../storage/types.js";
import type { Clock, ClockTimer } from "../util/clock.js";

const INTERVAL_MS = 10 * 60_000;

export interface RetentionOptions {
  store: SessionStore;
  /** Where the ingest log lives; none = in-memory storage. */
  storagePath?: string;
  policy: RuntimeConfig["session_retention"];
  clock: Clock;
  logger: Logger;
  /** Checked before each periodic pass. */
  isRunning(): boolean;
}

export class RetentionSchedule {
  private timer?: ClockTimer;

  constructor(private readonly options: RetentionOptions) {}

  /** One pass now; failures are logged, never thrown. */
  async runNow(): Promise<void> {
    const { store, policy, storagePath, clock, logger } = this.options;
    try {
      await applyRetention(store, policy);
      if (storagePath && policy?.max_age !== undefined) await pruneIngestLogs(storagePath, policy.max_age, clock.now());
    } catch (err) {
      logger.warn({ err }, "session retention failed");
    }
  }

  arm(): void {
    if (!this.options.policy) return;
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.options.isRunning()) return;
      void this.runNow().then(() => {
        if (this.options.isRunning()) this.arm();
      });
    }, INTERVAL_MS);
    this.timer.unref?.();
  }

  disarm(): void {
    if (this.timer) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
