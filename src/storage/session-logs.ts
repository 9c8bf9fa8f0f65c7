/**
 * The session event logs' files: one per session, appended to a few times
 * per execution (a batch per node step or so) and then never again. Opening
 * and closing the file for every batch was most of what the events of an
 * execution cost, so a file stays open while its session keeps appending
 * and is closed once it has been quiet for a moment; the number open at
 * once is capped, so a burst of sessions never exhausts descriptors.
 *
 * A file's tail is checked for a torn last line (torn-tail.ts) when it is
 * opened, unless this process made its folder (a new file), and again after
 * a write of ours failed. Callers serialise the appends to one file.
 */
import type { FileHandle } from "node:fs/promises";
import type { Appender } from "./append-files.js";
import { openLog, repairTail } from "./torn-tail.js";

interface Slot {
  handle: FileHandle;
  lastUsedMs: number;
  busy: boolean;
}

/** A file unused this long is closed. */
const IDLE_MS = 250;

export class SessionLogFiles implements Appender {
  // Map order is recency order: the first idle slot is the one to close.
  private readonly slots = new Map<string, Slot>();
  /** Files known to end in a whole line: new ones, or ones checked and not broken since. */
  private readonly checked = new Set<string>();
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly maxOpen = 64) {}

  /** `path` is new (its folder was just made): its first append needs no check. */
  markChecked(path: string): void {
    this.checked.add(path);
  }

  async append(path: string, text: string): Promise<void> {
    let slot = this.slots.get(path);
    if (slot) {
      this.slots.delete(path);
    } else {
      const fresh = this.checked.has(path);
      const handle = await openLog(path, fresh ? "a" : "a+");
      try {
        if (!fresh) await repairTail(handle, path);
      } catch (err) {
        await handle.close().catch(() => undefined);
        throw err;
      }
      slot = { handle, lastUsedMs: 0, busy: false };
    }
    this.slots.set(path, slot);
    slot.busy = true;
    try {
      await slot.handle.appendFile(text);
      this.checked.add(path);
    } catch (err) {
      // The tail may now be partial: closed, and checked again on the next open.
      this.checked.delete(path);
      this.slots.delete(path);
      await slot.handle.close().catch(() => undefined);
      throw err;
    } finally {
      slot.busy = false;
      slot.lastUsedMs = Date.now();
    }
    this.closeOverCap();
    this.sweeper ??= setInterval(() => this.closeIdle(), IDLE_MS).unref();
  }

  /** Closes `path` if open and forgets it was checked (it was removed or replaced). */
  async forget(path: string): Promise<void> {
    this.checked.delete(path);
    const slot = this.slots.get(path);
    if (!slot) return;
    this.slots.delete(path);
    await slot.handle.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const open = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(open.map((slot) => slot.handle.close().catch(() => undefined)));
  }

  private closeOverCap(): void {
    for (const [path, slot] of this.slots) {
      if (this.slots.size <= this.maxOpen) break;
      if (slot.busy) continue;
      this.close(path, slot);
    }
  }

  private closeIdle(): void {
    const cutoff = Date.now() - IDLE_MS;
    for (const [path, slot] of this.slots) {
      if (!slot.busy && slot.lastUsedMs <= cutoff) this.close(path, slot);
    }
    if (this.slots.size === 0 && this.sweeper !== undefined) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
    // The set of checked files only grows with new sessions: keep it bounded.
    if (this.checked.size > 4096) {
      for (const path of this.checked) {
        if (this.checked.size <= 2048) break;
        if (!this.slots.has(path)) this.checked.delete(path);
      }
    }
  }

  private close(path: string, slot: Slot): void {
    this.slots.delete(path);
    void slot.handle.close().catch(() => undefined);
  }
}
