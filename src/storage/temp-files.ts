/**
 * Leftover temp files (SPEC 4.4). `writeFileAtomic` writes
 * `.<name>.<pid>.<n>.tmp` and renames it into place; a kill -9 between the
 * two leaves the temp file behind. At start they are removed, but only ours
 * (that exact pattern) and only when the process that wrote one is gone: a
 * `forager run` sharing the storage may be writing its own right now.
 */
import { readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { processAlive } from "../util/process.js";

const TEMP_NAME = /^\..+\.(\d+)\.\d+\.tmp$/;

/** True for a temp file name of `writeFileAtomic` whose writer is not running. */
export function isStaleTempName(name: string, alive: (pid: number) => boolean = processAlive): boolean {
  const match = TEMP_NAME.exec(name);
  if (!match) return false;
  const pid = Number(match[1]);
  return pid !== process.pid && !alive(pid);
}

/** Removes stale temp files directly in `dir` (not below); returns the paths removed. */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return []; // missing, or not a folder
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!isStaleTempName(name)) continue;
    const path = join(dir, name);
    try {
      await unlink(path);
      removed.push(path);
    } catch {
      // Gone already, or not a file: nothing of ours to remove.
    }
  }
  return removed;
}

/**
 * Removes stale temp files wherever forager writes files atomically: the
 * root, `_keys`, each agent folder and, with `sessions`, every session
 * folder (one directory read each, so `run` leaves that to `serve`).
 */
export async function sweepTempFiles(root: string, options: { sessions: boolean }): Promise<string[]> {
  const removed = await removeStaleTempFiles(root);
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    return removed;
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === "_events") continue;
    const dir = join(root, entry.name);
    removed.push(...(await removeStaleTempFiles(dir)));
    if (!options.sessions || entry.name.startsWith("_")) continue;
    let sessions: string[];
    try {
      sessions = await readdir(join(dir, "sessions"));
    } catch {
      continue;
    }
    for (const session of sessions) removed.push(...(await removeStaleTempFiles(join(dir, "sessions", session))));
  }
  return removed;
}
