/**
 * An entry point stream (SPEC 4.1): the executions of one entry point of
 * one agent and its in-process queue. The overlap policy itself is the pure
 * decideAdmission (admission.ts); the stream feeds it its counts and names
 * the victim. It decides; the dispatcher acts (starts, cancels, records).
 * Counters are kept as jobs move, so stats cost O(1) per stream and never
 * scan history.
 */
import type { Agent, ResolvedEntryPoint } from "../config/schema.js";
import type { ExecutionStatus } from "../result.js";
import { decideAdmission, retryAfterSeconds, type AdmissionCounts } from "./admission.js";
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

  /** The counts the overlap policy decides on. */
  admissionCounts(): AdmissionCounts {
    return { active: this.active.size, waiting: this.queue.length, successor: this.successor !== undefined, avgMs: this.averageMs };
  }

  /** What happens to a new trigger right now; does not change anything. */
  decide(): Admission {
    const decision = decideAdmission(this, this.admissionCounts());
    if (decision.kind !== "replace") return decision;
    // The oldest active job: a Set iterates in insertion order.
    const victim = decision.victim === "successor" ? this.successor : this.active.values().next().value;
    return victim ? { kind: "replace", victim } : { kind: "start" };
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
    return retryAfterSeconds(this.averageMs);
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
