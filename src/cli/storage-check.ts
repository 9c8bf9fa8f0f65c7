/**
 * The storage folder checked before anything is created in it: a file, a
 * dangling symlink or an unwritable place gets one sentence (exit 2), not a
 * raw EEXIST/ENOTDIR. Missing folders are created one level at a time,
 * because a recursive mkdir under /proc spins forever in some Node versions.
 */
import { lstatSync, mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { UsageError } from "../errors.js";

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Ensures `path` is a folder (creating it if missing); throws a UsageError naming the path otherwise. */
export function ensureStorageFolder(path: string): void {
  const missing: string[] = [];
  let current = path;
  // Walk up to the first thing that exists; everything below it is created.
  for (;;) {
    let link;
    try {
      link = lstatSync(current);
    } catch (err) {
      if (code(err) === "ENOTDIR") throw new UsageError(`storage ${path}: ${current} lies under a file, not a folder`);
      if (code(err) !== "ENOENT") throw new UsageError(`storage ${path} cannot be used: ${(err as Error).message}`);
      missing.unshift(current);
      const parent = dirname(current);
      if (parent === current) break;
      current = parent;
      continue;
    }
    let info = link;
    if (link.isSymbolicLink()) {
      try {
        info = statSync(current);
      } catch {
        throw new UsageError(`storage ${path}: ${current} is a symlink to something that does not exist`);
      }
    }
    if (!info.isDirectory()) {
      const what = current === path ? "is a file, not a folder" : `lies under ${current}, which is a file`;
      throw new UsageError(`storage ${path} ${what}`);
    }
    break;
  }
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (err) {
      if (code(err) === "EEXIST") continue;
      throw new UsageError(`storage ${path} cannot be created (${code(err) ?? "error"} at ${folder})`);
    }
  }
}
