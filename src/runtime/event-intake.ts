/**
 * Event intake: external events (webhooks) recorded in the ingest log and
 * turned into executions of the event entry points they match (SPEC 4.1),
 * and bus events doing the same for events the runtime's own executions
 * publish. Matching and loop protection live in event-triggers.ts.
 */
import { completeEvent } from "../events/bus.js";
import type { EventInit, ForagerEvent } from "../events/types.js";
import type { Logger } from "../logging/index.js";
import type { IngestLog } from "../storage/ingest-log.js";
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
}

export class EventIntake {
  private readonly chains = new ChainTracker();
  private readonly streams: EntryPointStream[] = [];
  /** Ids of events ingested here: their triggers already happened when the bus delivers them. */
  private readonly ingested = new Set<string>();

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

  /** An event seen on the bus: triggers the event entry points it matches, unless `ingest` already did. */
  onEvent(event: ForagerEvent): void {
    // Checked first, so the id is forgotten even when no entry point listens.
    if (this.ingested.delete(event.id)) return;
    if (this.streams.length === 0) return;
    const upstream = this.chains.upstreamOf(event);
    const matching = this.matching(event, upstream);
    if (matching.length === 0) return;
    void this.trigger(matching, event, upstream).catch((err: unknown) =>
      this.host.logger.error({ err, event: event.type }, "triggering event entry points failed"),
    );
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

  private matching(event: ForagerEvent, upstream: readonly string[]): EntryPointStream[] {
    return this.streams.filter((stream) => eventMatches(stream, event, upstream, this.host.logger));
  }

  private async trigger(matching: EntryPointStream[], event: ForagerEvent, upstream: readonly string[], traceparent?: string): Promise<string[]> {
    const outcomes = await Promise.all(
      matching.map(async (stream) => {
        // The chain travels in the job data; `started` records it where the job runs. Recorded
        // here too, from the same data, before the job's queued event is published.
        const chain = extendChain(upstream, stream.key);
        const outcome = await this.host.admit(stream, { event }, { traceparent, chain, onCreated: (job) => this.recordChain(job) });
        if (!("execution_id" in outcome)) {
          this.host.logger.info({ agent: stream.agentName, entry_point: stream.id, event: event.type, reason: outcome.reason }, `event trigger ${outcome.status}`);
        }
        return outcome;
      }),
    );
    return outcomes.flatMap((outcome) => ("execution_id" in outcome ? [outcome.execution_id] : []));
  }
}
