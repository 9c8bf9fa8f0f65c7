/**
 * Appends to line logs that never glue a record onto a torn line
 * (torn-tail.ts): a file's tail is checked before this process first
 * writes to it and after any write of ours failed, and a partial line is
 * set aside before the next append.
 *
 * Two ways to hold the files:
 * - `AppendFiles` keeps handles open between writes. Opening and closing a
 *   file for every append costs two extra trips through libuv's small
 *   thread pool; for the few hot logs (webhook de-duplication keys, the
 *   ingest log) that is most of what a webhook costs. Only for files that
 *   are never renamed or removed while open: whoever replaces one (a
 *   compaction) calls `forget` first.
 * - `LineFiles` opens a file per append, for the many small logs (one per
 *   session) that would exhaust descriptors if kept open.
 *
 * Files are opened in append mode, so every write lands at the end even if
 * another process appends too.
 */
import { writeSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { openLog, repairTail } from "./torn-tail.js";

/** Something that appends text to files; resolves once it is written (in the OS). */
export interface Appender {
  append(path: string, text: string): Promise<void>;
  /** Drops what is held for `path` (an open handle, a checked tail) before it is replaced or removed. */
  forget?(path: string): unknown;
}

interface Slot {
  handle: Promise<FileHandle>;
  busy: number;
  /** Appends to this file, one after another: a repair must never race a write. */
  chain: Promise<void>;
  /** A write failed: the tail may be partial and is checked before the next one. */
  suspect: boolean;
}

export class AppendFiles implements Appender {
  // Map order is recency order: the first idle slot is the one to close.
  private readonly slots = new Map<string, Slot>();

  /**
   * `sync`: write on the event loop (`writeSync` on the open handle) instead
   * of through libuv's thread pool. For small group-committed appends to the
   * page cache (a batch of webhook events or keys) the write costs less than
   * the two thread hops it saves, and on a busy machine each hop can wait for
   * a core. Opening and repairing a file stay asynchronous.
   */
  constructor(
    private readonly maxOpen = 32,
    private readonly options: { sync?: boolean } = {},
  ) {}

  /** Appends `text` to `path` (creating folders as needed); on disk (in the OS) when it resolves. */
  append(path: string, text: string): Promise<void> {
    let slot = this.slots.get(path);
    if (slot) {
      this.slots.delete(path);
    } else {
      slot = { handle: openRepaired(path), busy: 0, chain: Promise.resolve(), suspect: false };
      const opened = slot;
      // A failed open is not cached: the next append tries again.
      slot.handle.catch(() => {
        if (this.slots.get(path) === opened) this.slots.delete(path);
      });
    }
    this.slots.set(path, slot);
    slot.busy++;
    const target = slot;
    const run = target.chain.then(async () => {
      const handle = await target.handle;
      if (target.suspect) {
        await repairTail(handle, path);
        target.suspect = false;
      }
      try {
        if (this.options.sync) writeAllSync(handle.fd, text);
        else await handle.appendFile(text);
      } catch (err) {
        target.suspect = true;
        throw err;
      }
    });
    target.chain = run.catch(() => undefined);
    return run.finally(() => {
      target.busy--;
      this.evictIdle();
    });
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

/** Writes all of `text` at the end of the file (opened in append mode); a short write continues. */
function writeAllSync(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

async function openRepaired(path: string): Promise<FileHandle> {
  const handle = await openLog(path);
  try {
    await repairTail(handle, path);
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
  return handle;
}

async function closeQuietly(slot: Slot): Promise<void> {
  try {
    await slot.chain;
    await (await slot.handle).close();
  } catch {
    // Never opened, or already closed: nothing to release.
  }
}

/**
 * Opens a file per append. Files whose tail this process has checked (and
 * not broken since) are remembered, so only the first append to a file
 * pays for the check; the memory is bounded, a forgotten file is checked
 * again. Appends to one file must not overlap (callers serialise them).
 */
export class LineFiles implements Appender {
  private readonly clean = new Set<string>();

  constructor(private readonly remember = 4096) {}

  async append(path: string, text: string): Promise<void> {
    const checked = this.clean.has(path);
    // Not clean until this write has succeeded.
    this.clean.delete(path);
    const handle = await openLog(path, checked ? "a" : "a+");
    try {
      if (!checked) await repairTail(handle, path);
      await handle.appendFile(text);
    } finally {
      await handle.close().catch(() => undefined);
    }
    this.clean.add(path);
    if (this.clean.size > this.remember) {
      // Sets iterate in insertion order: drop the longest-unwritten file.
      for (const old of this.clean) {
        this.clean.delete(old);
        break;
      }
    }
  }

  /** Forgets that `path` was checked (it was replaced or removed). */
  forget(path: string): void {
    this.clean.delete(path);
  }
}
