/**
 * Event intake: external events (webhooks) recorded in the ingest log and
 * turned into executions of the event entry points they match (SPEC 4.1),
 * and bus events doing the same for events the runtime's own executions
 * publish. Matching and loop protection live in event-triggers.ts.
 *
 * In a cluster (`exactlyOnce`) each admission an event makes is claimed in
 * the shared key store first, under `evt:<target>:<source execution>:<type>`
 * for an execution's lifecycle events and `evt:<target>:<event id>` for the
 * rest: a source execution run again after a lost worker publishes its
 * final event again, and the target is not triggered twice. The runner
 * awaits `afterFinal` before a job completes, so that claim and admission
 * are durable before the queue forgets the source job.
 */
import { completeEvent } from "../events/bus.js";
import type { EventInit, ForagerEvent } from "../events/types.js";
import type { Logger } from "../logging/index.js";
import { claimKey, pendingClaim, releaseClaim, settleClaim } from "../storage/claims.js";
import type { IngestLog } from "../storage/ingest-log.js";
import type { KeyStore } from "../storage/types.js";
import { newEventId } from "../util/ids.js";
import type { Clock } from "../util/clock.js";
import type { AdmitOptions } from "./dispatcher.js";
import { ChainTracker, eventMatches, extendChain } from "./event-triggers.js";
import type { Job } from "./job.js";
import type { EntryPointStream } from "./stream.js";
import type { IngestOptions, IngestOutcome, TriggerOutcome } from "./types.js";

export interface EventIntakeHost {
  readonly clock: Clock;
  readonly logger: Logger;
  /** The durable record of ingested events. */
  readonly ingestLog: IngestLog;
  publish(init: EventInit): ForagerEvent;
  admit(stream: EntryPointStream, input: Record<string, unknown>, options: AdmitOptions): Promise<TriggerOutcome>;
  cancel(executionId: string, reason: string): Promise<unknown>;
  /** Set in a cluster: each event triggers each entry point once, claimed in these keys (shared by the nodes). */
  readonly exactlyOnce?: KeyStore;
}

/** Key store namespace of event admissions (`<prefix>:key:evt:…` in Redis, DISTRIBUTED §5). */
const EVENT_NAMESPACE = "evt";
const EVENT_KEY_TTL_SECONDS = 24 * 3600;
/**
 * How long an event admission's claim stays pending: an admission takes a
 * few ms (its lock waits 5 s at most), and a node that died holding the
 * claim frees it after this, so the source job re-run elsewhere can claim it.
 */
const EVENT_CLAIM_PENDING_SECONDS = 10;
/** How long an admission waits for a copy of itself pending elsewhere: past the pending time, so a dead holder's claim is taken over. */
const EVENT_CLAIM_WAIT_MS = EVENT_CLAIM_PENDING_SECONDS * 1000 + 2_000;
/** How long a finishing job waits for its final event's admissions before it gives up waiting (logged): past a claim's takeover. */
const FINAL_WAIT_MS = EVENT_CLAIM_WAIT_MS + 8_000;
const FINAL_EVENTS: ReadonlySet<string> = new Set(["execution_completed", "execution_failed", "execution_cancelled"]);
/** Final events remembered for `afterFinal` at most (jobs that never ran are never asked for). */
const MAX_FINALS = 10_000;

interface FinalWait {
  done?: Promise<void>;
  resolve?: (done: Promise<void>) => void;
}

export class EventIntake {
  private readonly chains = new ChainTracker();
  private readonly streams: EntryPointStream[] = [];
  /** Ids of events ingested here: their triggers already happened when the bus delivers them. */
  private readonly ingested = new Set<string>();
  /** Execution id → its final event's admissions (exactlyOnce only), for `afterFinal`. */
  private readonly finals = new Map<string, FinalWait>();

  constructor(private readonly host: EventIntakeHost) {}

  /** Adds or replaces the stream with this key; one that is not an event entry point (any more) is dropped. */
  setStream(stream: EntryPointStream): void {
    const index = this.streams.findIndex((s) => s.key === stream.key);
    if (index >= 0) this.streams.splice(index, 1);
    if (stream.entryPoint.trigger_type === "event") this.streams.push(stream);
  }

  /** Stops triggering the stream with this key (a reload removed its entry point). */
  removeStream(key: string): void {
    const index = this.streams.findIndex((s) => s.key === key);
    if (index >= 0) this.streams.splice(index, 1);
  }

  /**
   * Records an external event and triggers the event entry points it
   * matches. Resolves after the event and the queued executions are on
   * disk; "full" (nothing recorded) when every matching entry point would
   * reject it.
   */
  async ingest(init: EventInit, options: IngestOptions = {}): Promise<IngestOutcome> {
    const event = completeEvent(init, this.host.clock.now());
    const upstream = this.chains.upstreamOf(event);
    const matching = this.matching(event, upstream);
    if (matching.length > 0 && matching.every((stream) => !stream.accepting)) {
      return { status: "full", retry_after_seconds: Math.min(...matching.map((s) => s.retryAfterSeconds())) };
    }
    // Admission decides synchronously, before anything is awaited, so the
    // room seen by the check above is the room taken: no 202 that then
    // starts nothing because a concurrent delivery took the last slot.
    const admitting = this.trigger(matching, event, upstream, options.traceparent);
    // Awaited below; handled now, so an admission failing while the log is written cannot crash the process.
    admitting.catch(() => undefined);
    try {
      // Batched per tick (one append for a burst of deliveries), on disk when this resolves.
      await this.host.ingestLog.append(event);
    } catch (err) {
      // Not on disk, so not accepted: what was admitted for it must not run.
      const admitted = await admitting.catch(() => [] as string[]);
      await Promise.all(admitted.map((id) => this.host.cancel(id, "ingest_failed").catch(() => undefined)));
      throw err;
    }
    const executions = await admitting;
    this.ingested.add(event.id);
    const published = this.host.publish({
      ...event,
      correlation_id: event.correlation_id ?? (executions.length > 0 ? executions.join(",") : null),
      data: { ...event.data, execution_ids: executions },
    });
    return { status: "accepted", event: published, executions };
  }

  /**
   * An event seen on the bus: triggers the event entry points it matches,
   * unless `ingest` already did. `trigger` false (the runtime is stopping):
   * nothing is admitted, and a job waiting in `afterFinal` is let go.
   */
  onEvent(event: ForagerEvent, trigger = true): void {
    // Checked first, so the id is forgotten even when no entry point listens.
    if (this.ingested.delete(event.id)) return;
    const work = trigger ? this.triggerFor(event) : Promise.resolve();
    if (this.host.exactlyOnce && event.execution_id && FINAL_EVENTS.has(event.type)) this.noteFinal(event.execution_id, work);
  }

  private triggerFor(event: ForagerEvent): Promise<void> {
    if (this.streams.length === 0) return Promise.resolve();
    const upstream = this.chains.upstreamOf(event);
    const matching = this.matching(event, upstream);
    if (matching.length === 0) return Promise.resolve();
    return this.trigger(matching, event, upstream).then(
      () => undefined,
      (err: unknown) => this.host.logger.error({ err, event: event.type }, "triggering event entry points failed"),
    );
  }

  private noteFinal(executionId: string, work: Promise<void>): void {
    const waiting = this.finals.get(executionId);
    if (waiting?.resolve) {
      this.finals.delete(executionId);
      return waiting.resolve(work);
    }
    this.finals.set(executionId, { done: work });
    if (this.finals.size > MAX_FINALS) {
      const oldest = this.finals.keys().next().value;
      if (oldest !== undefined) this.finals.delete(oldest);
    }
  }

  /**
   * Resolves once the final event of `executionId` (published by its run
   * here) has been matched and its admissions are recorded, so the job is
   * not completed before (cluster only: at once otherwise). Bounded: a
   * final event that never comes holds the job 20 s at most (logged).
   */
  async afterFinal(executionId: string): Promise<void> {
    if (!this.host.exactlyOnce) return;
    const seen = this.finals.get(executionId);
    let work: Promise<void>;
    if (seen?.done) {
      this.finals.delete(executionId);
      work = seen.done;
    } else {
      work = new Promise<Promise<void>>((resolve) => this.finals.set(executionId, { resolve })).then((done) => done);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), FINAL_WAIT_MS);
      timer.unref?.();
    });
    try {
      if ((await Promise.race([work, late])) === "late") {
        this.finals.delete(executionId);
        this.host.logger.warn({ execution_id: executionId }, "the final event's triggers were not recorded in time; the job completes anyway");
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A job starts here: what it publishes from now on carries the chain from
   * its job data, also when another process admitted it.
   */
  started(job: Job): void {
    this.recordChain(job);
  }

  /** Writes what is buffered and closes the ingest log's files. */
  async close(): Promise<void> {
    await this.host.ingestLog.close();
  }

  private recordChain(job: Job): void {
    if (job.chain) this.chains.record(job.id, job.chain);
  }

  /** One admission per (target, event) across the cluster, claimed before it is made (claims.ts). */
  private async admitOnce(keys: KeyStore, stream: EntryPointStream, event: ForagerEvent, admit: () => Promise<TriggerOutcome>): Promise<TriggerOutcome> {
    const key = event.execution_id && event.type.startsWith("execution_") ? `${stream.key}:${event.execution_id}:${event.type}` : `${stream.key}:${event.id}`;
    const claim = pendingClaim(newEventId(this.host.clock.now()));
    const claimed = await claimKey(keys, EVENT_NAMESPACE, key, claim, EVENT_CLAIM_WAIT_MS, EVENT_CLAIM_PENDING_SECONDS);
    if (claimed.status === "final") return { status: "skipped", reason: `the event already triggered ${stream.key} (execution ${claimed.value})` };
    if (claimed.status === "pending") return { status: "skipped", reason: `the event is being admitted to ${stream.key} elsewhere` };
    let outcome: TriggerOutcome;
    try {
      outcome = await admit();
    } catch (err) {
      await releaseClaim(keys, EVENT_NAMESPACE, key, claim).catch(() => undefined);
      throw err;
    }
    if ("execution_id" in outcome) await settleClaim(keys, EVENT_NAMESPACE, key, claim, outcome.execution_id, EVENT_KEY_TTL_SECONDS);
    else await releaseClaim(keys, EVENT_NAMESPACE, key, claim);
    return outcome;
  }

  private matching(event: ForagerEvent, upstream: readonly string[]): EntryPointStream[] {
    return this.streams.filter((stream) => eventMatches(stream, event, upstream, this.host.logger));
  }

  private async trigger(matching: EntryPointStream[], event: ForagerEvent, upstream: readonly string[], traceparent?: string): Promise<string[]> {
    // Most events match no entry point (a webhook with none listening): no admission to run.
    if (matching.length === 0) return [];
    const outcomes = await Promise.all(
      matching.map(async (stream) => {
        // The chain travels in the job data; `started` records it where the job runs. Recorded
        // here too, from the same data, before the job's queued event is published.
        const chain = extendChain(upstream, stream.key);
        const admit = () => this.host.admit(stream, { event }, { traceparent, chain, onCreated: (job) => this.recordChain(job) });
        const outcome = this.host.exactlyOnce ? await this.admitOnce(this.host.exactlyOnce, stream, event, admit) : await admit();
        if (!("execution_id" in outcome)) {
          this.host.logger.info({ agent: stream.agentName, entry_point: stream.id, event: event.type, reason: outcome.reason }, `event trigger ${outcome.status}`);
        }
        return outcome;
      }),
    );
    return outcomes.flatMap((outcome) => ("execution_id" in outcome ? [outcome.execution_id] : []));
  }
}
