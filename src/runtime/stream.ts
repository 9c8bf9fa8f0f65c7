/**
 * An entry point stream (SPEC 4.1): the executions of one entry point of
 * one agent, its queue and its overlap policy. It decides; the runtime acts
 * (starts, cancels, records). Counters are kept as jobs move, so stats cost
 * O(1) per stream and never scan history.
 */
import type { Agent, ResolvedEntryPoint } from "../config/schema.js";
import type { ExecutionStatus } from "../result.js";
import { Fifo } from "./fifo.js";
import type { Job } from "./job.js";
import type { StreamStats } from "./types.js";

export type Admission =
  | { kind: "start" }
  | { kind: "queue" }
  /** cancel_previous: `victim` is cancelled (or a pending successor superseded) and the new job takes its session. */
  | { kind: "replace"; victim: Job }
  | { kind: "skip"; reason: string }
  | { kind: "reject"; reason: string; retryAfterSeconds: number };

type Counts = StreamStats["status_counts"];

export class EntryPointStream {
  readonly key: string;
  /** Jobs holding one of this stream's slots: running, or waiting for the agent mutex / a global slot. */
  readonly active = new Set<Job>();
  readonly queue = new Fifo<Job>();
  /** cancel_previous: the job that starts once the cancelled one has stopped. */
  successor?: Job;
  readonly counts: Counts = { queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
  /** Smoothed duration of finished executions, for Retry-After hints. */
  private averageMs = 0;

  readonly agentName: string;
  private definition: { agent: Agent; entryPoint: ResolvedEntryPoint };

  constructor(agent: Agent, entryPoint: ResolvedEntryPoint) {
    this.agentName = agent.name;
    this.definition = { agent, entryPoint };
    this.key = `${agent.name}/${entryPoint.id}`;
  }

  /** The agent definition new executions of this stream run on. */
  get agent(): Agent {
    return this.definition.agent;
  }

  get entryPoint(): ResolvedEntryPoint {
    return this.definition.entryPoint;
  }

  /**
   * Replaces the definition (a reload). Queue, counters and the executions
   * holding slots stay: they keep the definition they were accepted with,
   * and the overlap policy goes on counting them, so a reload never lets two
   * executions of a `max_concurrent: 1` entry point run at once.
   */
  redefine(agent: Agent, entryPoint: ResolvedEntryPoint): void {
    if (agent.name !== this.agentName || entryPoint.id !== this.id) {
      throw new Error(`stream ${this.key} cannot take the definition of ${agent.name}/${entryPoint.id}`);
    }
    this.definition = { agent, entryPoint };
  }

  get id(): string {
    return this.entryPoint.id;
  }

  get maxConcurrent(): number {
    return this.entryPoint.max_concurrent;
  }

  /** True when a new job could start now without waiting for this stream. */
  get hasFreeSlot(): boolean {
    return this.active.size + (this.successor ? 1 : 0) < this.maxConcurrent && this.queue.length === 0;
  }

  /** What happens to a new trigger right now; does not change anything. */
  decide(): Admission {
    if (this.hasFreeSlot) return { kind: "start" };
    switch (this.entryPoint.overlap) {
      case "queue":
        if (this.queue.length >= this.entryPoint.max_queued) {
          return {
            kind: "reject",
            reason: `queue of ${this.key} is full (max_queued ${this.entryPoint.max_queued})`,
            retryAfterSeconds: this.retryAfterSeconds(),
          };
        }
        return { kind: "queue" };
      case "skip":
        return { kind: "skip", reason: `${this.key} is busy (${this.active.size} running, overlap: skip)` };
      case "reject":
        return {
          kind: "reject",
          reason: `${this.key} is busy (${this.active.size} running, overlap: reject)`,
          retryAfterSeconds: this.retryAfterSeconds(),
        };
      case "cancel_previous": {
        const victim = this.successor ?? this.active.values().next().value;
        if (!victim) return { kind: "start" };
        return { kind: "replace", victim };
      }
    }
  }

  /** Would a trigger be accepted (started, queued, skipped or replacing)? False when it would be rejected. */
  get accepting(): boolean {
    return this.decide().kind !== "reject";
  }

  countQueued(delta: number): void {
    this.counts.queued += delta;
  }

  markRunning(): void {
    this.counts.queued--;
    this.counts.running++;
  }

  /** A job left this stream with a final status; `wasRunning` says which counter it leaves. */
  markFinished(status: ExecutionStatus, wasRunning: boolean, durationMs: number | null): void {
    if (wasRunning) this.counts.running--;
    else this.counts.queued--;
    this.counts[status] = (this.counts[status] ?? 0) + 1;
    if (wasRunning && durationMs !== null) {
      this.averageMs = this.averageMs === 0 ? durationMs : this.averageMs * 0.8 + durationMs * 0.2;
    }
  }

  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.averageMs / 1000));
  }

  stats(agentIdleSeconds: number | null): StreamStats {
    return {
      agent: this.agentName,
      entry_point: this.entryPoint.id,
      trigger_type: this.entryPoint.trigger_type,
      status_counts: { ...this.counts },
      max_concurrent: this.maxConcurrent,
      available_slots: Math.max(0, this.maxConcurrent - this.active.size - (this.successor ? 1 : 0)),
      agent_idle_seconds: agentIdleSeconds,
    };
  }
}
