/**
 * Sessions on disk (SPEC 4.4):
 *
 *   <root>/<agent>/index.jsonl                       summaries, for fast listing
 *   <root>/<agent>/sessions/<session_id>/session.json   the session's latest execution, at a glance
 *   <root>/<agent>/sessions/<session_id>/<execution_id>.json   one record per execution
 *   <root>/<agent>/sessions/<session_id>/events.jsonl  the session's events, one a line
 *
 * A session may hold several executions (single-execution mode starts the
 * next one in the same folder), hence one record file per execution.
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ForagerEvent } from "../events/types.js";
import type { Logger } from "../logging/index.js";
import { isTerminal, type ExecutionRecord } from "../result.js";
import { systemClock, type Clock } from "../util/clock.js";
import { isAgentName, isSafeId } from "../util/ids.js";
import { KeyedQueue } from "../util/keyed-queue.js";
import { readJsonFile, writeJsonAtomic } from "./atomic.js";
import { JsonLinesAppender, readJsonLines } from "./event-log.js";
import { SessionLogFiles } from "./session-logs.js";
import { removeStaleTempFiles, sweepTempFiles } from "./temp-files.js";
import { reapSessionProcesses, removeProcessFile, writeProcessFile } from "./process-files.js";
import type { ProcessGroupRecord } from "../util/process-groups.js";
import { compareNewestFirst, filterExecutionEvents, interruptRecord, isUnfinished, planPrune, sessionLabel, summarize } from "./records.js";
import { AgentIndex, isLiveElsewhere, type IndexEntry } from "./session-index.js";
import { agentFolders, readRecordsIn } from "./session-scan.js";
import type { ExecutionSummary, ListQuery, PruneOptions, PruneReport, SessionStore } from "./types.js";

export interface FileSessionStoreOptions {
  logger?: Pick<Logger, "warn">;
  clock?: Clock;
  /**
   * `init` removes leftover temp files in every session folder (default);
   * false: only in the folders it visits anyway (a quick `run` start), the
   * rest is left to the next `serve`.
   */
  sweepSessionFolders?: boolean;
}

const NO_LOGGER = { warn: () => undefined } as unknown as Pick<Logger, "warn">;
const MAX_KNOWN_FOLDERS = 4096;

/** The SessionStore of a storage directory, in the layout above. */
export class FileSessionStore implements SessionStore {
  /** @internal The storage directory. */
  readonly root: string;
  private readonly logger: Pick<Logger, "warn">;
  private readonly clock: Clock;
  private readonly sweepSessionFolders: boolean;
  private readonly indexes = new Map<string, AgentIndex>();
  private readonly eventFiles = new SessionLogFiles();
  private readonly events = new JsonLinesAppender(this.eventFiles);
  /**
   * Session folders this store has made sure exist (bounded, oldest dropped):
   * the first write of a session makes its folder once, instead of each
   * write trying, failing and retrying.
   */
  private readonly folders = new Map<string, Promise<void>>();
  /** Saves of one execution run one after another, so an older write never lands last. */
  private readonly saving = new KeyedQueue();

  constructor(root: string, options: FileSessionStoreOptions = {}) {
    this.root = root;
    this.logger = options.logger ?? NO_LOGGER;
    this.clock = options.clock ?? systemClock;
    this.sweepSessionFolders = options.sweepSessionFolders ?? true;
  }

  /** @internal Throws for an agent or session id that could leave the storage folder (`..`, `/`). */
  sessionDir(agent: string, sessionId: string): string {
    if (!isAgentName(agent) || !isSafeId(sessionId)) throw new Error(`not a valid agent name or session id: ${JSON.stringify(`${agent}/${sessionId}`).slice(0, 200)}`);
    return join(this.root, agent, "sessions", sessionId);
  }

  /** @internal Where an execution's record file is; throws for an id that could leave the storage folder. */
  recordPath(agent: string, sessionId: string, executionId: string): string {
    if (!isSafeId(executionId)) throw new Error(`not a valid execution id: ${JSON.stringify(executionId).slice(0, 200)}`);
    return join(this.sessionDir(agent, sessionId), `${executionId}.json`);
  }

  async init(): Promise<ExecutionRecord[]> {
    await mkdir(this.root, { recursive: true });
    // Before anything reads a folder: a kill -9 between an atomic write's
    // temp file and its rename leaves the temp file behind.
    const removed = await sweepTempFiles(this.root, { sessions: this.sweepSessionFolders });
    const interrupted: ExecutionRecord[] = [];
    for (const agent of await this.agentsOnDisk()) {
      const index = await this.loadIndex(agent, { recover: true });
      for (const entry of [...index.entries.values()]) {
        if (!isUnfinished(entry.status) || isLiveElsewhere(entry)) continue;
        // Tools' programs outlive a kill -9 of their parent (own process group): stop them first.
        await reapSessionProcesses(this.sessionDir(agent, entry.session_id), this.logger, { agent, session_id: entry.session_id });
        // A crash in mid-write is a crash of an unfinished execution: its folder is the one to clean.
        if (!this.sweepSessionFolders) removed.push(...(await removeStaleTempFiles(this.sessionDir(agent, entry.session_id))));
        const path = this.recordPath(agent, entry.session_id, entry.execution_id);
        const record = await readJsonFile<ExecutionRecord>(path);
        if (!record) {
          await index.remove([entry.execution_id]);
          continue;
        }
        if (!isUnfinished(record.status)) {
          // The record finished but its index line was lost: trust the record.
          await this.indexRecord(index, record);
          continue;
        }
        const { record: marked, event } = interruptRecord(record, this.clock.now());
        await this.save(marked);
        await this.appendEvents(agent, record.session_id, [event]);
        interrupted.push(marked);
      }
    }
    await this.flush();
    if (removed.length > 0) this.logger.warn({ files: removed }, `removed ${removed.length} temp file(s) left by interrupted writes`);
    return interrupted;
  }

  /** Loads of an agent's index in progress, shared by concurrent callers. */
  private readonly loading = new Map<string, Promise<void>>();

  save(record: ExecutionRecord): Promise<void> {
    return this.saving.run(record.execution_id, () => this.write(record));
  }

  private async write(record: ExecutionRecord): Promise<void> {
    // Writers only need the index loaded once; reads refresh it from disk.
    const index = await this.loadIndex(record.agent, { fresh: false });
    const dir = this.sessionDir(record.agent, record.session_id);
    const path = this.recordPath(record.agent, record.session_id, record.execution_id);
    await this.ensureFolder(dir);
    // The record first: the index (memory and file) never points at a record that was not written.
    await writeJsonAtomic(path, record);
    const newSession = !index.newestOfSession.has(record.session_id);
    const entry = index.begin(summarize(record));
    try {
      // session.json is written when a session starts and when its newest
      // execution finishes, not on every status change in between: it is a
      // summary for people, and each write costs a file on the hot path.
      if (index.isNewestOfSession(entry) && (newSession || isTerminal(record.status))) {
        await writeJsonAtomic(join(dir, "session.json"), {
          schema_version: 1,
          session_id: record.session_id,
          agent: record.agent,
          latest_execution_id: record.execution_id,
          entry_point: record.entry_point,
          status: record.status,
          queued_at: record.queued_at,
          started_at: record.started_at,
          finished_at: record.finished_at,
        });
      }
      await index.record(entry);
    } finally {
      index.end(record.execution_id);
    }
  }

  /**
   * Makes the session folder unless this store already did. A folder it
   * created holds no event log yet, so that log's first append needs no
   * torn-tail check.
   */
  private ensureFolder(dir: string): Promise<void> {
    let made = this.folders.get(dir);
    if (!made) {
      made = mkdir(dir, { recursive: true }).then((created) => {
        if (created === dir) this.eventFiles.markChecked(join(dir, "events.jsonl"));
      });
      this.folders.set(dir, made);
      made.catch(() => this.folders.delete(dir));
      if (this.folders.size > MAX_KNOWN_FOLDERS) {
        // Maps iterate in insertion order: forget the oldest (it is made again if needed).
        for (const old of this.folders.keys()) {
          this.folders.delete(old);
          break;
        }
      }
    }
    return made;
  }

  recordProcessGroup(agent: string, sessionId: string, group: ProcessGroupRecord): Promise<void> {
    return writeProcessFile(this.sessionDir(agent, sessionId), group);
  }

  releaseProcessGroup(agent: string, sessionId: string, pid: number): Promise<void> {
    return removeProcessFile(this.sessionDir(agent, sessionId), pid);
  }

  appendEvents(agent: string, sessionId: string, events: readonly ForagerEvent[]): Promise<void> {
    const dir = this.sessionDir(agent, sessionId);
    // Through the folder's promise (already settled after the first write):
    // appends keep their order, and the first one knows whether the log is new.
    return this.ensureFolder(dir).then(() => this.events.append(join(dir, "events.jsonl"), events));
  }

  async get(executionId: string): Promise<ExecutionRecord | undefined> {
    // An id of another shape was never written here (and must not reach a path).
    if (!isSafeId(executionId)) return undefined;
    await this.saving.idle(executionId);
    let found = this.locate(executionId);
    if (!found) {
      // Written by another process since we last looked: re-read changed indexes.
      for (const agent of await this.agentsOnDisk()) await this.loadIndex(agent);
      found = this.locate(executionId);
    }
    if (found) {
      const record = await readJsonFile<ExecutionRecord>(this.recordPath(found.agent, found.session_id, executionId));
      if (record) return record;
    }
    return this.scanFor(executionId);
  }

  async readEvents(agent: string, sessionId: string, executionId?: string): Promise<ForagerEvent[]> {
    const path = join(this.sessionDir(agent, sessionId), "events.jsonl");
    await this.events.flush(path);
    const { values } = await readJsonLines<ForagerEvent>(path);
    return filterExecutionEvents(values, executionId);
  }

  async list(query: ListQuery = {}): Promise<ExecutionSummary[]> {
    // Not an agent name: nothing was ever stored under it, and it must not become a path.
    if (query.agent !== undefined && !isAgentName(query.agent)) return [];
    const agents = query.agent !== undefined ? [query.agent] : await this.agentsOnDisk();
    const all: ExecutionSummary[] = [];
    for (const agent of agents) {
      const index = await this.loadIndex(agent);
      for (const entry of index.entries.values()) {
        if (query.status === undefined || entry.status === query.status) all.push(entry);
      }
    }
    all.sort(compareNewestFirst);
    const limited = query.limit !== undefined && query.limit >= 0 ? all.slice(0, query.limit) : all;
    return limited.map((entry) => summarize(entry as ExecutionRecord));
  }

  async prune(options: PruneOptions): Promise<PruneReport> {
    if (options.agent !== undefined && !isAgentName(options.agent)) return { removed: [], kept: 0, dry_run: Boolean(options.dryRun) };
    await this.flush();
    const agents = options.agent !== undefined ? [options.agent] : await this.agentsOnDisk();
    const summaries: ExecutionSummary[] = [];
    for (const agent of agents) summaries.push(...(await this.loadIndex(agent)).entries.values());
    const { remove, kept } = planPrune(summaries, options, this.clock.now());
    if (!options.dryRun) {
      // One index rewrite per agent, not one per session: retention prunes a batch at a time.
      const byAgent = new Map<string, string[]>();
      for (const group of remove) {
        this.folders.delete(this.sessionDir(group.agent, group.session_id));
        await rm(this.sessionDir(group.agent, group.session_id), { recursive: true, force: true });
        this.events.forget(join(this.sessionDir(group.agent, group.session_id), "events.jsonl"));
        byAgent.set(group.agent, [...(byAgent.get(group.agent) ?? []), ...group.execution_ids]);
      }
      for (const [agent, ids] of byAgent) await this.loadIndex(agent).then((index) => index.remove(ids));
    }
    return { removed: remove.map(sessionLabel), kept, dry_run: Boolean(options.dryRun) };
  }

  async flush(): Promise<void> {
    await this.saving.idleAll();
    await this.events.flush();
    await Promise.all([...this.indexes.values()].map((index) => index.idle()));
  }

  private locate(executionId: string): ExecutionSummary | undefined {
    for (const index of this.indexes.values()) {
      const entry = index.entries.get(executionId);
      if (entry) return entry;
    }
    return undefined;
  }

  private async indexRecord(index: AgentIndex, record: ExecutionRecord): Promise<void> {
    await index.record(adoptRecord(index, record));
  }

  /**
   * The agent's index, loaded (or rebuilt from the records when missing),
   * and re-read when another process changed it unless `fresh: false`.
   */
  private async loadIndex(agent: string, options: { recover?: boolean; fresh?: boolean } = {}): Promise<AgentIndex> {
    if (!isAgentName(agent)) throw new Error(`not a valid agent name: ${JSON.stringify(agent).slice(0, 200)}`);
    let index = this.indexes.get(agent);
    if (!index) {
      index = new AgentIndex(agent, join(this.root, agent, "index.jsonl"), this.logger);
      this.indexes.set(agent, index);
    }
    if (options.recover) {
      await this.loading.get(agent);
      const { exists } = await index.refresh();
      await this.recoverFromRecords(index, !exists);
      return index;
    }
    if (index.isLoaded && options.fresh === false) return index;
    // Concurrent first uses share one load: a burst of first saves must not
    // each rescan the session folders.
    let loading = this.loading.get(agent);
    if (!loading) {
      const target = index;
      loading = (async () => {
        const { exists } = await target.refresh();
        if (!exists) await this.recoverFromRecords(target, true);
      })().finally(() => this.loading.delete(agent));
      this.loading.set(agent, loading);
    }
    await loading;
    return index;
  }

  /**
   * Reads the records of sessions the index does not know (all of them when
   * the index is missing): a crash between writing a record and its index
   * line, or storage written before the index existed.
   */
  private async recoverFromRecords(index: AgentIndex, rebuild: boolean): Promise<void> {
    const known = new Set<string>();
    for (const entry of index.entries.values()) known.add(entry.session_id);
    let sessionIds: string[];
    try {
      sessionIds = await readdir(join(this.root, index.agent, "sessions"));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    let found = 0;
    for (const sessionId of sessionIds) {
      if (known.has(sessionId)) continue;
      for (const record of await this.readSessionRecords(index.agent, sessionId)) {
        adoptRecord(index, record);
        found++;
      }
    }
    if (found > 0 || (rebuild && index.entries.size > 0)) await index.rewrite();
  }

  /** Every execution record in one session folder. */
  readSessionRecords(agent: string, sessionId: string): Promise<ExecutionRecord[]> {
    return readRecordsIn(this.sessionDir(agent, sessionId), this.logger, { agent, session_id: sessionId });
  }

  private async scanFor(executionId: string): Promise<ExecutionRecord | undefined> {
    if (!/^[A-Za-z0-9_-]+$/.test(executionId)) return undefined;
    for (const agent of await this.agentsOnDisk()) {
      let sessionIds: string[];
      try {
        sessionIds = await readdir(join(this.root, agent, "sessions"));
      } catch {
        continue;
      }
      const known = this.indexes.get(agent)?.newestOfSession;
      for (const sessionId of sessionIds) {
        // Every save writes its index line right after the record, so a record
        // missing from the index sits in a session the index does not know yet.
        if (known?.has(sessionId)) continue;
        const record = await readJsonFile<ExecutionRecord>(this.recordPath(agent, sessionId, executionId)).catch(() => undefined);
        if (record) return record;
      }
    }
    return undefined;
  }

  private async agentsOnDisk(): Promise<string[]> {
    const agents = new Set(await agentFolders(this.root));
    for (const agent of this.indexes.keys()) agents.add(agent);
    return [...agents].sort();
  }
}

/**
 * Puts a record found on disk (not saved by this process) into the index's
 * memory; without a pid it is never taken for another live writer's.
 */
function adoptRecord(index: AgentIndex, record: ExecutionRecord): IndexEntry {
  const entry = index.begin(summarize(record));
  index.end(record.execution_id);
  delete entry.pid;
  delete entry.host;
  return entry;
}
