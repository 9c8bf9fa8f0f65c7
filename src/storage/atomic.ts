/**
 * File helpers every store uses: whole-file writes go to a temp file in the
 * same folder and are renamed into place, so a reader (or a restart after a
 * crash) sees the old content or the new, never half of one.
 */
import { renameSync, writeFileSync } from "node:fs";
import { mkdir, open, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ForagerError } from "../errors.js";

export interface AtomicWriteOptions {
  mode?: number;
  /** fsync the data before the rename (survives power loss, costs a disk flush). */
  fsync?: boolean;
}

let tempCounter = 0;

/**
 * Whole files up to this size (a session record, a state namespace) are
 * written and renamed with synchronous calls on the event loop: each of the
 * four steps of an asynchronous write is a round trip through the thread
 * pool that costs more than the small write itself (a 3-node graph at
 * max_concurrent 10 on file storage, alternating runs: 435 -> 568
 * executions/s on Node 24, 308 -> 337 on Node 20). Larger files, and writes that
 * fsync, go through the thread pool so the loop is not held by them. As with
 * the group-committed appends (append-files.ts), a disk that stalls stalls
 * the loop for that write.
 */
const SYNC_WRITE_MAX_BYTES = 64 * 1024;

/** Writes `data` to `path` atomically, creating the parent folders. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  // Temp files start with "." and end with ".tmp" so folder scans can skip them.
  // pid + a counter is unique among writers on this machine, and free to make.
  const temp = join(dir, `.${basename(path)}.${process.pid}.${++tempCounter}.tmp`);
  const sync = !options.fsync && data.length <= SYNC_WRITE_MAX_BYTES;
  try {
    await writeTemp(temp, data, options, sync);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    await mkdir(dir, { recursive: true });
    await writeTemp(temp, data, options, sync);
  }
  try {
    if (sync) renameSync(temp, path);
    else await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

async function writeTemp(temp: string, data: string | Uint8Array, options: AtomicWriteOptions, sync: boolean): Promise<void> {
  if (!options.fsync) {
    try {
      if (sync) writeFileSync(temp, data, { mode: options.mode });
      else await writeFile(temp, data, { mode: options.mode });
    } catch (err) {
      // ENOENT: the folder is missing, so no temp file was made to remove.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") await unlink(temp).catch(() => undefined);
      throw err;
    }
    return;
  }
  const handle = await open(temp, "w", options.mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
}

/** True for names `writeFileAtomic` uses for its temp files. */
export function isTempFileName(name: string): boolean {
  return name.startsWith(".") && name.endsWith(".tmp");
}

/**
 * Reads and parses a JSON file. A missing file is `undefined`; a file that is
 * not valid JSON is a ForagerError naming the file.
 */
export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new ForagerError("corrupt_file", `${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
      hint: "restore the file from a backup or remove it",
    });
  }
}

/** Writes `value` as pretty JSON, atomically. */
export function writeJsonAtomic(path: string, value: unknown, options: AtomicWriteOptions = {}): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n", options);
}
