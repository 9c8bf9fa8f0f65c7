/**
 * The durable record of accepted external events (webhooks), behind the
 * `IngestLog` interface so another backend (a Redis stream) can hold it.
 *
 * The file log: `<root>/_events/<source>/<YYYY-MM-DD>.jsonl`, one file per
 * source and UTC day, so old days can be dropped whole by retention instead
 * of the log growing for ever. Appends are batched per tick (one write for a
 * burst of deliveries) through handles kept open, and a torn last line is
 * set aside before the next append (torn-tail.ts).
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ForagerEvent } from "../events/types.js";
import { AppendFiles } from "./append-files.js";
import { JsonLinesAppender } from "./event-log.js";
import { eventJsonLine } from "./raw-json.js";

export interface IngestLog {
  /** Records an accepted event; resolves once it is durable (in the OS for the file log). */
  append(event: ForagerEvent): Promise<void>;
  /** Drops records older than `maxAgeSeconds` at `nowMs` (whole days for the file log); returns what was removed. */
  prune(maxAgeSeconds: number, nowMs: number): Promise<string[]>;
  /** Writes what is buffered and releases open files; the log may be used again after. */
  close(): Promise<void>;
}

// A day's torn tails (torn-tail.ts) go with the day.
const DAY_FILE = /^(\d{4})-(\d{2})-(\d{2})\.jsonl(\.torn)?$/;

export function ingestLogPath(root: string, source: string, timestamp: string): string {
  const safe = source.replace(/[^A-Za-z0-9_.-]/g, "_");
  return join(root, "_events", safe, `${timestamp.slice(0, 10)}.jsonl`);
}

/** The JSON-lines ingest log under `root`. */
export class FileIngestLog implements IngestLog {
  // Few hot files (one per source and day): handles stay open between
  // writes, and a batch is written on the event loop (append-files.ts).
  private readonly files = new AppendFiles(8, { sync: true });
  private readonly log = new JsonLinesAppender(this.files);

  /** Per source, the day file last written: the path is the same for a whole day of deliveries. */
  private readonly paths = new Map<string, { day: string; path: string }>();

  constructor(readonly root: string) {}

  append(event: ForagerEvent): Promise<void> {
    // A webhook payload is written as the body it was parsed from (raw-json.ts), not serialised again.
    return this.log.appendLine(this.pathOf(event.stream_id ?? "unknown", event.timestamp), eventJsonLine(event));
  }

  private pathOf(source: string, timestamp: string): string {
    const day = timestamp.slice(0, 10);
    const known = this.paths.get(source);
    if (known?.day === day) return known.path;
    const path = ingestLogPath(this.root, source, timestamp);
    // Bounded: a process sees few sources, but the ids come from routes that a reload may change.
    if (this.paths.size >= 64) this.paths.clear();
    this.paths.set(source, { day, path });
    return path;
  }

  prune(maxAgeSeconds: number, nowMs: number): Promise<string[]> {
    return pruneIngestLogs(this.root, maxAgeSeconds, nowMs);
  }

  async close(): Promise<void> {
    await this.log.flush();
    await this.files.closeAll();
  }
}

/** No ingest log: in-memory storage, where the bus is the only record of an event. */
export const noIngestLog: IngestLog = {
  async append() {},
  async prune() {
    return [];
  },
  async close() {},
};

/** Removes day files whose whole day ended more than `maxAgeSeconds` before `nowMs`; returns their paths. */
export async function pruneIngestLogs(root: string, maxAgeSeconds: number, nowMs: number): Promise<string[]> {
  const dir = join(root, "_events");
  let sources: string[];
  try {
    sources = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const removed: string[] = [];
  for (const source of sources) {
    let days: string[];
    try {
      days = await readdir(join(dir, source));
    } catch {
      continue; // not a folder
    }
    for (const day of days) {
      const match = DAY_FILE.exec(day);
      if (!match) continue;
      const dayEnd = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + 1);
      if (nowMs - dayEnd > maxAgeSeconds * 1000) {
        const path = join(dir, source, day);
        await rm(path, { force: true });
        removed.push(path);
      }
    }
  }
  return removed;
}
