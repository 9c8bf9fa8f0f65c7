/**
 * Batched appends to JSON-lines files. Events arrive one at a time on the hot
 * path of every node step; lines for the same file are collected until the
 * next turn of the event loop and written with one append, in order.
 */
import { readFile } from "node:fs/promises";
import { LineFiles, type Appender } from "./append-files.js";

interface Batch {
  lines: string[];
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class JsonLinesAppender {
  private pending = new Map<string, Batch>();
  private scheduled = false;
  /** The last write per file, so batches for one file never overlap. */
  private readonly tails = new Map<string, Promise<void>>();

  /**
   * With `files` = an AppendFiles, appends go through handles kept open (for
   * a few hot logs that are never replaced); by default each batch opens and
   * closes its file. Either way a torn last line is set aside first.
   */
  constructor(private readonly files: Appender = new LineFiles()) {}

  /** Queues lines for `path`; resolves when they are written. */
  append(path: string, values: readonly unknown[]): Promise<void> {
    if (values.length === 0) return this.tails.get(path) ?? Promise.resolve();
    let batch = this.pending.get(path);
    if (!batch) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A caller that does not await still must not crash the process with an
      // unhandled rejection; the error reaches whoever awaits.
      done.catch(() => undefined);
      batch = { lines: [], done, resolve, reject };
      this.pending.set(path, batch);
    }
    for (const value of values) batch.lines.push(JSON.stringify(value) + "\n");
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.writePending());
    }
    return batch.done;
  }

  /** Forgets what is known of `path` (it was removed). */
  forget(path: string): void {
    this.files.forget?.(path);
  }

  /** Writes what is queued now and waits for every write in flight for `path` (or all). */
  async flush(path?: string): Promise<void> {
    this.writePending();
    if (path !== undefined) {
      await this.tails.get(path)?.catch(() => undefined);
      return;
    }
    await Promise.all([...this.tails.values()].map((p) => p.catch(() => undefined)));
  }

  private writePending(): void {
    this.scheduled = false;
    if (this.pending.size === 0) return;
    const batches = this.pending;
    this.pending = new Map();
    for (const [path, batch] of batches) {
      const previous = this.tails.get(path) ?? Promise.resolve();
      const write = previous
        .catch(() => undefined)
        .then(() => this.files.append(path, batch.lines.join("")))
        .then(batch.resolve, batch.reject);
      const tail = write.then(() => undefined);
      this.tails.set(path, tail);
      void tail.then(() => {
        if (this.tails.get(path) === tail) this.tails.delete(path);
      });
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

