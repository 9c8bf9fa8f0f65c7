/**
 * Torn tails of append-only logs (SPEC 4.4). An append cut short (kill -9
 * mid-write, a full disk) leaves a partial last line. Appending after it
 * would glue the next record onto the fragment and make both unreadable,
 * so before a writer first appends to a file, and again after one of its
 * own writes failed, the fragment is copied to `<file>.torn` and the file
 * is cut back to its last newline.
 *
 * Cutting loses nothing anyone was promised: a record is acknowledged only
 * once its whole line, newline included, is written, so a fragment is always
 * a write whose caller was told it failed (or never heard back).
 */
import { mkdir, open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";

const NEWLINE = 0x0a;
const CHUNK = 64 * 1024;

/** Where a log's torn tail is set aside. */
export function tornPath(path: string): string {
  return `${path}.torn`;
}

/**
 * Sets aside a partial last line of the file behind `handle` (opened for
 * reading and appending): copies it to `<path>.torn` (best effort: a full
 * disk may not take it) and truncates the file after its last newline.
 * `size` is the file's size when already known (saves a stat).
 * Returns the file's size afterwards and how many bytes were set aside.
 */
export async function repairTail(handle: FileHandle, path: string, size?: number): Promise<{ size: number; setAside: number }> {
  const length = size ?? (await handle.stat()).size;
  if (length === 0) return { size: 0, setAside: 0 };
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, length - 1);
  if (last[0] === NEWLINE) return { size: length, setAside: 0 };
  // Walk back a chunk at a time to the last newline (0 when there is none).
  const chunk = Buffer.alloc(Math.min(CHUNK, length));
  let cut = 0;
  for (let end = length; end > 0; ) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await handle.read(chunk, 0, end - start, start);
    const at = chunk.subarray(0, bytesRead).lastIndexOf(NEWLINE);
    if (at >= 0) {
      cut = start + at + 1;
      break;
    }
    end = start;
  }
  const fragment = Buffer.alloc(length - cut);
  await handle.read(fragment, 0, fragment.length, cut);
  await setAside(path, fragment);
  await handle.truncate(cut);
  return { size: cut, setAside: fragment.length };
}

async function setAside(path: string, fragment: Buffer): Promise<void> {
  let side: FileHandle | undefined;
  try {
    side = await open(tornPath(path), "a");
    await side.appendFile(Buffer.concat([fragment, Buffer.from("\n")]));
  } catch {
    // Kept for inspection only; the truncate below must happen regardless,
    // and it needs no free space.
  } finally {
    await side?.close().catch(() => undefined);
  }
}

/** Opens `path` for reading and appending, creating it and its folders. */
export async function openLog(path: string, flags: "a" | "a+" = "a+"): Promise<FileHandle> {
  try {
    return await open(path, flags);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    await mkdir(dirname(path), { recursive: true });
    return open(path, flags);
  }
}
