/**
 * The compact per-agent index `<root>/<agent>/index.jsonl`: one summary line
 * per save, the last line of an execution wins. Listing 10 000 sessions reads
 * this one file instead of 10 000 records. The index is a cache: records in
 * the session folders are the truth, and a missing index is rebuilt from them.
 */
import { stat, type FileHandle } from "node:fs/promises";
import { hostname } from "node:os";
import type { Logger } from "../logging/index.js";
import { processAlive } from "../util/process.js";
import { writeFileAtomic } from "./atomic.js";
import { readJsonLines } from "./event-log.js";
import { openLog, repairTail } from "./torn-tail.js";
import type { ExecutionSummary } from "./types.js";

/** An index line: the summary plus which process wrote it (to tell a crash from a live writer). */
export interface IndexEntry extends ExecutionSummary {
  pid?: number;
  host?: string;
}

const HOST = hostname();

export class AgentIndex {
  readonly entries = new Map<string, IndexEntry>();
  /** The newest execution of each session (the one `session.json` describes). */
  readonly newestOfSession = new Map<string, IndexEntry>();
  /** Bytes of the file as this process last left it; another size means another writer. */
  private knownSize = -1;
  private lines = 0;
  private loaded = false;
  /** Our last append succeeded, so the file ends in a whole line unless someone else wrote. */
  private tailChecked = false;
  /** Serialises appends and rewrites of the file. */
  private chain: Promise<void> = Promise.resolve();
  /** Lines waiting for the next append. */
  private pending: Array<{ line: string; resolve(): void; reject(err: unknown): void }> = [];
  private draining: Promise<void> | null = null;
  /** Executions with a save in flight here: a reload must not roll them back. */
  private readonly inFlight = new Map<string, number>();
  /**
   * The file, kept open between appends while saves keep coming (an open and
   * a close per group commit were half of what an index line cost); closed
   * after a quiet second, and reopened after a rewrite replaced the file.
   */
  private handle: FileHandle | null = null;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly agent: string,
    readonly path: string,
    private readonly logger: Pick<Logger, "warn">,
  ) {}

  get isLoaded(): boolean {
    return this.loaded;
  }

  /**
   * Loads the file the first time, and again whenever another process
   * changed it. Our own appends in flight are awaited first, so they are
   * never mistaken for another writer's.
   */
  async refresh(): Promise<{ exists: boolean }> {
    if (this.loaded) {
      await this.chain;
      const size = await fileSize(this.path);
      if (size === this.knownSize) return { exists: size >= 0 };
    }
    await this.chain;
    // The size before reading: if the file grows while we read, the next
    // refresh sees a different size and reads again.
    const sizeAtRead = await fileSize(this.path);
    const { values, skipped } = await readJsonLines<IndexEntry>(this.path);
    if (skipped > 0) this.logger.warn({ file: this.path, skipped }, "skipped unreadable lines in a session index");
    const keep = new Map<string, IndexEntry>();
    for (const id of this.inFlight.keys()) {
      const entry = this.entries.get(id);
      if (entry) keep.set(id, entry);
    }
    this.entries.clear();
    for (const entry of values) {
      if (entry && typeof entry.execution_id === "string") this.entries.set(entry.execution_id, entry);
    }
    for (const [id, entry] of keep) this.entries.set(id, entry);
    this.newestOfSession.clear();
    for (const entry of this.entries.values()) this.noteSession(entry);
    this.lines = values.length + skipped;
    this.knownSize = sizeAtRead;
    this.loaded = true;
    return { exists: sizeAtRead >= 0 };
  }

  /** Marks a save as started: memory is updated now, the file by `record()`. */
  begin(summary: ExecutionSummary): IndexEntry {
    const entry: IndexEntry = { ...summary, pid: process.pid, host: HOST };
    this.entries.set(summary.execution_id, entry);
    this.noteSession(entry);
    this.inFlight.set(summary.execution_id, (this.inFlight.get(summary.execution_id) ?? 0) + 1);
    return entry;
  }

  end(executionId: string): void {
    const n = (this.inFlight.get(executionId) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(executionId);
    else this.inFlight.set(executionId, n);
  }

  /**
   * Appends one line, on disk when the promise resolves. Lines recorded
   * while an append is in flight join the next one (group commit), so many
   * concurrent saves cost a few appends, not one each.
   */
  record(entry: IndexEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line: JSON.stringify(entry) + "\n", resolve, reject });
      if (!this.draining) this.draining = this.enqueue(() => this.drainPending());
    });
  }

  private async drainPending(): Promise<void> {
    // Let the rest of this tick's saves join the first batch.
    await Promise.resolve();
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        const text = batch.map((p) => p.line).join("");
        try {
          const before = await this.appendText(text);
          this.lines += batch.length;
          // Only our own append moved the size: the file still matches memory.
          // (A file missing when read is the empty file the append created.)
          if (before === this.knownSize || (before === 0 && this.knownSize === -1)) this.knownSize = Math.max(before, 0) + Buffer.byteLength(text);
          else this.knownSize = -2;
          for (const p of batch) p.resolve();
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
        // Compacting while another process also appends could drop its lines: only when the file is ours alone.
        if (this.pending.length === 0 && this.knownSize >= 0 && this.lines > 2 * this.entries.size + 1000) {
          await this.rewriteNow().catch((err: unknown) => this.logger.warn({ file: this.path, err }, "could not compact a session index"));
        }
      }
    } finally {
      this.draining = null;
    }
  }

  /**
   * Appends `text` after setting aside a torn last line (a crash, a full
   * disk); returns the file's size before the append. The tail is checked on
   * this process's first append, after a failed one, and whenever the size
   * is not what our own writes left (another writer).
   */
  private async appendText(text: string): Promise<number> {
    const handle = await this.openHandle();
    let { size, nlink } = await handle.stat();
    if (nlink === 0) {
      // Another process replaced the file (a prune's rewrite): append to the new one.
      await this.closeHandle();
      return this.appendText(text);
    }
    if (!this.tailChecked || size !== this.knownSize) size = (await repairTail(handle, this.path, size)).size;
    this.tailChecked = false;
    await handle.appendFile(text);
    this.tailChecked = true;
    return size;
  }

  private async openHandle(): Promise<FileHandle> {
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    // Unref'd: an open index never keeps the process alive, and a dropped store still lets go of its file.
    this.closeTimer = setTimeout(() => {
      this.closeTimer = undefined;
      void this.enqueue(() => this.closeHandle());
    }, 1000).unref();
    this.handle ??= await openLog(this.path);
    return this.handle;
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close().catch(() => undefined);
  }

  /** Drops executions (a prune) and rewrites the file. */
  remove(executionIds: Iterable<string>): Promise<void> {
    for (const id of executionIds) {
      const entry = this.entries.get(id);
      if (!entry) continue;
      this.entries.delete(id);
      if (this.newestOfSession.get(entry.session_id)?.execution_id === id) this.newestOfSession.delete(entry.session_id);
    }
    return this.enqueue(() => this.rewriteNow());
  }

  /** Rewrites the file from memory (after a rebuild from the records). */
  rewrite(): Promise<void> {
    return this.enqueue(() => this.rewriteNow());
  }

  /** True when `entry` is its session's newest execution (ties go to the later save). */
  isNewestOfSession(entry: IndexEntry): boolean {
    return this.newestOfSession.get(entry.session_id) === entry;
  }

  private noteSession(entry: IndexEntry): void {
    const current = this.newestOfSession.get(entry.session_id);
    if (
      !current ||
      current.execution_id === entry.execution_id ||
      entry.queued_at > current.queued_at ||
      (entry.queued_at === current.queued_at && entry.execution_id > current.execution_id)
    ) {
      this.newestOfSession.set(entry.session_id, entry);
    }
  }

  idle(): Promise<void> {
    return this.chain;
  }

  private async rewriteNow(): Promise<void> {
    const text = [...this.entries.values()].map((e) => JSON.stringify(e) + "\n").join("");
    await writeFileAtomic(this.path, text);
    // The handle held the file the rename replaced.
    await this.closeHandle();
    this.lines = this.entries.size;
    this.knownSize = Buffer.byteLength(text);
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(task);
    this.chain = run.catch((err) => {
      this.logger.warn({ file: this.path, err }, "could not write a session index");
    });
    return run;
  }
}

export function isLiveElsewhere(entry: IndexEntry): boolean {
  if (entry.pid === undefined || entry.pid === process.pid || entry.host !== HOST) return false;
  return processAlive(entry.pid);
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return -1;
    throw err;
  }
}
