/**
 * Batched appends to JSON-lines files. Events arrive one at a time on the hot
 * path of every node step; lines for the same file are collected and written
 * with one append, in order. A batch takes lines until its write starts: the
 * first waits for the next turn of the event loop, a later one for the write
 * in flight to its file (group commit), so a burst costs a few appends.
 */
import { readFile } from "node:fs/promises";
import { KeyedQueue } from "../util/keyed-queue.js";
import { deferred } from "../util/deferred.js";
import { LineFiles, type Appender } from "./append-files.js";

interface Batch {
  lines: string[];
  /** Handed to the file's queue (it still takes lines until its write starts). */
  queued: boolean;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class JsonLinesAppender {
  /** Per file, the batch that still takes lines. */
  private open = new Map<string, Batch>();
  private scheduled = false;
  /** Writes of one file, one after another: batches never overlap. */
  private readonly writes = new KeyedQueue();

  /**
   * With `files` = an AppendFiles, appends go through handles kept open (for
   * a few hot logs that are never replaced); by default each batch opens and
   * closes its file. Either way a torn last line is set aside first.
   */
  constructor(private readonly files: Appender = new LineFiles()) {}

  /** Queues lines for `path`; resolves when they are written. */
  append(path: string, values: readonly unknown[]): Promise<void> {
    if (values.length === 0) return this.writes.idle(path);
    const batch = this.batchFor(path);
    for (const value of values) batch.lines.push(JSON.stringify(value) + "\n");
    return batch.done;
  }

  /** Queues one line already serialised (JSON, no line break, no trailing newline); resolves when it is written. */
  appendLine(path: string, line: string): Promise<void> {
    const batch = this.batchFor(path);
    batch.lines.push(line + "\n");
    return batch.done;
  }

  /** The batch of `path` that still takes lines, opened (and its write scheduled) if there is none. */
  private batchFor(path: string): Batch {
    let batch = this.open.get(path);
    if (!batch) {
      const { promise: done, resolve, reject } = deferred();
      // A caller that does not await still must not crash the process with an
      // unhandled rejection; the error reaches whoever awaits.
      done.catch(() => undefined);
      batch = { lines: [], queued: false, done, resolve, reject };
      this.open.set(path, batch);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.queueOpen());
      }
    }
    return batch;
  }

  /** Forgets what is known of `path` (it was removed). */
  forget(path: string): void {
    this.files.forget?.(path);
  }

  /** Writes what is queued now and waits for every write in flight for `path` (or all). */
  async flush(path?: string): Promise<void> {
    this.queueOpen();
    if (path !== undefined) await this.writes.idle(path);
    else await this.writes.idleAll();
  }

  /** Hands every batch not yet queued to its file's queue. */
  private queueOpen(): void {
    this.scheduled = false;
    for (const [path, batch] of this.open) {
      if (batch.queued) continue;
      batch.queued = true;
      void this.writes
        .run(path, () => {
          // From here on, new lines start the next batch.
          if (this.open.get(path) === batch) this.open.delete(path);
          return this.files.append(path, batch.lines.join(""));
        })
        .then(batch.resolve, batch.reject);
    }
  }
}

/**
 * Reads a JSON-lines file; a missing file is empty. A line that does not parse
 * (the tail of a write cut short by a crash or a full disk) is skipped and
 * counted; writers never append after such a fragment (torn-tail.ts), so
 * the lines around it are whole records.
 */
export async function readJsonLines<T>(path: string): Promise<{ values: T[]; skipped: number }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { values: [], skipped: 0 };
    throw err;
  }
  const values: T[] = [];
  let skipped = 0;
  for (const line of text.split("\n")) {
    if (line.length === 0) continue;
    try {
      values.push(JSON.parse(line) as T);
    } catch {
      skipped++;
    }
  }
  return { values, skipped };
}

