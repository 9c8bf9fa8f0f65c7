/**
 * One `serve` per storage folder: `<storage>/serve.lock` is created with
 * O_EXCL and holds the owner's pid, so timers never fire twice and two
 * servers never share dedup keys. A lock whose pid is dead is taken over.
 */
import { open, readFile, unlink, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../errors.js";
import { processAlive } from "../util/process.js";

export const LOCK_FILE = "serve.lock";

export interface StorageLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Safe to call twice. */
  release(): Promise<void>;
}

export async function acquireStorageLock(storagePath: string, pid: number = process.pid): Promise<StorageLock> {
  await mkdir(storagePath, { recursive: true });
  const path = join(storagePath, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, "wx", 0o600);
      try {
        await handle.writeFile(`${pid}\n`);
      } finally {
        await handle.close();
      }
      return lockAt(path, pid);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = await readOwner(path);
    if (owner !== undefined && owner !== pid && processAlive(owner)) {
      throw new UsageError(`storage ${storagePath} is in use by another forager serve (pid ${owner})`, {
        hint: `stop that server first, or pass a different --storage`,
      });
    }
    // Stale (its process is gone) or unreadable: take it over.
    await unlink(path).catch(() => {});
  }
  throw new UsageError(`could not take the lock ${path}; another forager serve is starting on the same storage`);
}

async function readOwner(path: string): Promise<number | undefined> {
  try {
    const text = (await readFile(path, "utf8")).trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

function lockAt(path: string, pid: number): StorageLock {
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      if ((await readOwner(path)) === pid) await unlink(path).catch(() => {});
    },
  };
}
