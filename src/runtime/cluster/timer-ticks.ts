/**
 * The cluster's record of timer ticks (DISTRIBUTED.md §4.4, §5): which
 * ticks were handled, the watermark catch-up counts from, the cluster-wide
 * pause and the timer counters, all in Redis so every node sees the same.
 *
 * Claiming a tick is one Lua script: refused when the tick is at or before
 * the watermark (a catch-up covered it) or its `done` key exists (another
 * node, or this tick job retried after a lost worker); otherwise the `done`
 * key is set and the watermark moves forward. The same round trip reads the
 * pause flag, so a node learns of `pause-timers` on another node by its
 * next tick at the latest.
 */
import type { Logger } from "../../logging/index.js";
import type { RedisLink } from "../../storage/redis/connection.js";
import type { TimerLedger } from "../tick-source.js";

/** A handled tick is remembered this long (a retried tick job comes back within seconds). */
const DONE_TTL_SECONDS = 86_400;
/** Watermarks outlive any sensible downtime (a year), as in the file backend. */
const WATERMARK_TTL_SECONDS = 365 * 86_400;

// KEYS: watermark, done:<S>, timers:paused. ARGV: S, new watermark, done TTL, watermark TTL.
// Returns {claimed 0|1, paused 0|1}.
const CLAIM_SCRIPT = `
local paused = redis.call('EXISTS', KEYS[3])
local w = tonumber(redis.call('GET', KEYS[1]))
if w and w >= tonumber(ARGV[1]) then return {0, paused} end
if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', ARGV[3]) then return {0, paused} end
if (not w) or tonumber(ARGV[2]) > w then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[4]) end
return {1, paused}
`;

export class RedisTimerLedger implements TimerLedger {
  private pausedSeen = false;

  constructor(
    private readonly link: RedisLink,
    private readonly logger: Logger,
  ) {}

  /** The cluster-wide pause as last seen (a claim, a heartbeat, `setPaused`). */
  get paused(): boolean {
    return this.pausedSeen;
  }

  /** Updates the cached pause flag from a read done elsewhere (the node heartbeat). */
  notePaused(paused: boolean): void {
    this.pausedSeen = paused;
  }

  pausedKey(): string {
    return this.link.key("timers", "paused");
  }

  async setPaused(paused: boolean): Promise<void> {
    const redis = await this.link.commands();
    if (paused) await redis.set(this.pausedKey(), new Date().toISOString());
    else await redis.del(this.pausedKey());
    this.pausedSeen = paused;
  }

  async refreshPaused(): Promise<boolean> {
    const redis = await this.link.commands();
    this.pausedSeen = (await redis.exists(this.pausedKey())) === 1;
    return this.pausedSeen;
  }

  async readWatermark(key: string): Promise<number | undefined> {
    const redis = await this.link.commands();
    const value = Number(await redis.get(this.link.key("timer", key, "watermark")));
    return Number.isFinite(value) && value > 0 ? value : undefined;
  }

  async claim(key: string, scheduledAtMs: number, watermarkMs = scheduledAtMs): Promise<boolean> {
    const redis = await this.link.commands();
    const [claimed, paused] = (await redis.eval(
      CLAIM_SCRIPT,
      3,
      this.link.key("timer", key, "watermark"),
      this.link.key("timer", key, "done", scheduledAtMs),
      this.pausedKey(),
      scheduledAtMs,
      Math.max(watermarkMs, scheduledAtMs),
      DONE_TTL_SECONDS,
      WATERMARK_TTL_SECONDS,
    )) as [number, number];
    this.pausedSeen = paused === 1;
    return claimed === 1;
  }

  /** `fired` / `skipped` and `last_fired_at` in `<prefix>:timer:<key>:stats`; a failure is logged, never thrown. */
  count(key: string, outcome: "fired" | "skipped", n: number, firedAtMs?: number): void {
    void (async () => {
      const redis = await this.link.commands();
      const statsKey = this.link.key("timer", key, "stats");
      const batch = redis.multi().hincrby(statsKey, outcome, n);
      if (firedAtMs !== undefined) batch.hset(statsKey, "last_fired_at", new Date(firedAtMs).toISOString());
      await batch.exec();
    })().catch((err: unknown) => this.logger.warn({ err, timer: key }, "could not count a timer tick in Redis"));
  }

  /** The cluster's counters of `key`. */
  async counters(key: string): Promise<{ fired: number; skipped: number; last_fired_at: string | null }> {
    const redis = await this.link.commands();
    const hash = await redis.hgetall(this.link.key("timer", key, "stats"));
    return { fired: Number(hash.fired ?? 0), skipped: Number(hash.skipped ?? 0), last_fired_at: hash.last_fired_at ?? null };
  }
}
