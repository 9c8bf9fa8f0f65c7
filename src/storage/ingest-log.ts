/**
 * The durable record of accepted external events (webhooks):
 * `<root>/_events/<source>/<YYYY-MM-DD>.jsonl`, one file per source and UTC
 * day, so old days can be dropped whole by retention instead of the log
 * growing for ever.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";

// A day's torn tails (torn-tail.ts) go with the day.
const DAY_FILE = /^(\d{4})-(\d{2})-(\d{2})\.jsonl(\.torn)?$/;

export function ingestLogPath(root: string, source: string, timestamp: string): string {
  const safe = source.replace(/[^A-Za-z0-9_.-]/g, "_");
  return join(root, "_events", safe, `${timestamp.slice(0, 10)}.jsonl`);
}

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
