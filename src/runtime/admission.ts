/**
 * The overlap policy of an entry point (SPEC 4.1) as a pure function of
 * counts: what happens to a new trigger given how many executions hold the
 * entry point's slots, how many wait in its queue and whether a
 * cancel_previous successor is pending. It reads no memory of its own, so
 * any queue that can count (the in-process streams, or a shared store read
 * under an admission lock) decides the same way, with the same wording.
 */
import type { ResolvedEntryPoint } from "../config/schema.js";

/** What the policy needs to know about an entry point: its key (`agent/id`) and limits. */
export interface AdmissionTarget {
  readonly key: string;
  readonly entryPoint: Pick<ResolvedEntryPoint, "overlap" | "max_concurrent" | "max_queued">;
}

/** The entry point's load at the moment of the trigger. */
export interface AdmissionCounts {
  /** Executions holding one of its slots: running, or waiting for the agent mutex / a global slot. */
  active: number;
  /** Executions waiting in its queue for a slot. */
  waiting: number;
  /** A cancel_previous successor is waiting for its victim to stop (it holds a slot in advance). */
  successor: boolean;
  /** Smoothed duration of its finished executions, in ms (0 when none finished yet). */
  avgMs: number;
}

export type AdmissionDecision =
  | { kind: "start" }
  | { kind: "queue" }
  /**
   * cancel_previous: the victim is cancelled and the new execution takes its
   * session; a pending successor is superseded before a running one is touched.
   */
  | { kind: "replace"; victim: "successor" | "oldest_active" }
  | { kind: "skip"; reason: string }
  | { kind: "reject"; reason: string; retryAfterSeconds: number };

/** True when a new execution could start now without waiting for this entry point. */
export function hasFreeSlot(target: AdmissionTarget, counts: AdmissionCounts): boolean {
  return counts.active + (counts.successor ? 1 : 0) < target.entryPoint.max_concurrent && counts.waiting === 0;
}

/** The Retry-After hint of a rejection: the average duration, at least one second. */
export function retryAfterSeconds(avgMs: number): number {
  return Math.max(1, Math.ceil(avgMs / 1000));
}

/** What happens to a new trigger of `target` under `counts`. Pure: decides, changes nothing. */
export function decideAdmission(target: AdmissionTarget, counts: AdmissionCounts): AdmissionDecision {
  if (hasFreeSlot(target, counts)) return { kind: "start" };
  const { key, entryPoint } = target;
  switch (entryPoint.overlap) {
    case "queue":
      if (counts.waiting >= entryPoint.max_queued) {
        return {
          kind: "reject",
          reason: `queue of ${key} is full (max_queued ${entryPoint.max_queued})`,
          retryAfterSeconds: retryAfterSeconds(counts.avgMs),
        };
      }
      return { kind: "queue" };
    case "skip":
      return { kind: "skip", reason: `${key} is busy (${counts.active} running, overlap: skip)` };
    case "reject":
      return {
        kind: "reject",
        reason: `${key} is busy (${counts.active} running, overlap: reject)`,
        retryAfterSeconds: retryAfterSeconds(counts.avgMs),
      };
    case "cancel_previous":
      if (counts.successor) return { kind: "replace", victim: "successor" };
      if (counts.active > 0) return { kind: "replace", victim: "oldest_active" };
      return { kind: "start" };
  }
}
