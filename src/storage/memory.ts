/**
 * Session storage in memory, with the semantics of the file store: for
 * library users who pass no storage path, and for tests. Records and events
 * are copied in and out, so callers cannot change what is stored.
 */
import type { ForagerEvent } from "../events/types.js";
import type { ExecutionRecord } from "../result.js";
import { systemClock, type Clock } from "../util/clock.js";
import { compareNewestFirst, filterExecutionEvents, interruptRecord, isUnfinished, planPrune, sessionLabel, summarize } from "./records.js";
import type { ExecutionSummary, ListQuery, PruneOptions, PruneReport, SessionStore } from "./types.js";

/** A SessionStore in memory: records and events do not survive the process. */
export class MemorySessionStore implements SessionStore {
  private readonly clock: Clock;
  private readonly records = new Map<string, ExecutionRecord>();
  private readonly events = new Map<string, ForagerEvent[]>();

  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  /** Marks unfinished records as interrupted, like the file store after a restart. */
  async init(): Promise<ExecutionRecord[]> {
    const interrupted: ExecutionRecord[] = [];
    for (const record of [...this.records.values()]) {
      if (!isUnfinished(record.status)) continue;
      const { record: marked, event } = interruptRecord(record, this.clock.now());
      this.records.set(marked.execution_id, marked);
      this.sessionEvents(marked.agent, marked.session_id).push(event);
      interrupted.push(structuredClone(marked));
    }
    return interrupted;
  }

  async save(record: ExecutionRecord): Promise<void> {
    this.records.set(record.execution_id, structuredClone(record));
  }

  async appendEvents(agent: string, sessionId: string, events: readonly ForagerEvent[]): Promise<void> {
    const log = this.sessionEvents(agent, sessionId);
    for (const event of events) log.push(structuredClone(event));
  }

  async get(executionId: string): Promise<ExecutionRecord | undefined> {
    const record = this.records.get(executionId);
    return record ? structuredClone(record) : undefined;
  }

  async readEvents(agent: string, sessionId: string, executionId?: string): Promise<ForagerEvent[]> {
    return structuredClone(filterExecutionEvents(this.events.get(`${agent}/${sessionId}`) ?? [], executionId));
  }

  async list(query: ListQuery = {}): Promise<ExecutionSummary[]> {
    const out: ExecutionSummary[] = [];
    for (const record of this.records.values()) {
      if (query.agent !== undefined && record.agent !== query.agent) continue;
      if (query.status !== undefined && record.status !== query.status) continue;
      out.push(summarize(record));
    }
    out.sort(compareNewestFirst);
    return query.limit !== undefined && query.limit >= 0 ? out.slice(0, query.limit) : out;
  }

  async prune(options: PruneOptions): Promise<PruneReport> {
    const summaries = [...this.records.values()].map(summarize);
    const { remove, kept } = planPrune(summaries, options, this.clock.now());
    if (!options.dryRun) {
      for (const group of remove) {
        for (const id of group.execution_ids) this.records.delete(id);
        this.events.delete(sessionLabel(group));
      }
    }
    return { removed: remove.map(sessionLabel), kept, dry_run: Boolean(options.dryRun) };
  }

  async flush(): Promise<void> {}

  private sessionEvents(agent: string, sessionId: string): ForagerEvent[] {
    const key = `${agent}/${sessionId}`;
    let log = this.events.get(key);
    if (!log) {
      log = [];
      this.events.set(key, log);
    }
    return log;
  }
}
