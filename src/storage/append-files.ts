/**
 * Append-only files kept open between writes. Opening and closing a file
 * for every append costs two extra trips through libuv's small thread
 * pool; for the few hot logs (webhook de-duplication keys, the ingest log)
 * that is most of what a webhook costs. Files are opened in append mode, so
 * every write lands at the end even if another process appends too.
 *
 * Only for files that are never renamed or removed while open: whoever
 * replaces one (a compaction) calls `forget` first.
 */
import { mkdir, open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";

interface Slot {
  handle: Promise<FileHandle>;
  busy: number;
}

export class AppendFiles {
  // Map order is recency order: the first idle slot is the one to close.
  private readonly slots = new Map<string, Slot>();

  constructor(private readonly maxOpen = 32) {}

  /** Appends `text` to `path` (creating folders as needed); on disk (in the OS) when it resolves. */
  async append(path: string, text: string): Promise<void> {
    let slot = this.slots.get(path);
    if (slot) {
      this.slots.delete(path);
    } else {
      slot = { handle: openForAppend(path), busy: 0 };
      // A failed open is not cached: the next append tries again.
      slot.handle.catch(() => {
        if (this.slots.get(path) === slot) this.slots.delete(path);
      });
    }
    this.slots.set(path, slot);
    slot.busy++;
    try {
      const handle = await slot.handle;
      await handle.appendFile(text);
    } finally {
      slot.busy--;
      this.evictIdle();
    }
  }

  /** Closes `path` if open, e.g. before the file is replaced. */
  async forget(path: string): Promise<void> {
    const slot = this.slots.get(path);
    if (!slot) return;
    this.slots.delete(path);
    await closeQuietly(slot);
  }

  async closeAll(): Promise<void> {
    const all = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(all.map(closeQuietly));
  }

  private evictIdle(): void {
    if (this.slots.size <= this.maxOpen) return;
    for (const [path, slot] of this.slots) {
      if (this.slots.size <= this.maxOpen) break;
      if (slot.busy > 0) continue;
      this.slots.delete(path);
      void closeQuietly(slot);
    }
  }
}

async function openForAppend(path: string): Promise<FileHandle> {
  try {
    return await open(path, "a");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    await mkdir(dirname(path), { recursive: true });
    return open(path, "a");
  }
}

async function closeQuietly(slot: Slot): Promise<void> {
  try {
    await (await slot.handle).close();
  } catch {
    // Never opened, or already closed: nothing to release.
  }
}
